/**
 * @module Tells when a network namespace's links, addresses, routes or peer namespace ids change,
 * so the agent reads it again only then. Reading a namespace costs child processes (`ip`,
 * `lsns`), and a spawn blocks the agent's event loop for the fork of the whole process: polled
 * every second by both the link watcher and the node's namespace list, that was a third of an
 * idle agent's main thread on a loaded host (100-200 ms per spawn), delaying every event it
 * handled. One long-lived `ip monitor` per namespace costs nothing while nothing changes.
 *
 * The monitor is started under `setpriv --pdeathsig KILL`, so it dies with the agent even after a
 * `kill -9` (an agent leaves nothing behind). When it cannot run or exits, `alive()` is false and
 * the caller falls back to reading the namespace on its interval; it is started again later.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface NamespaceMonitor {
  /** The monitor is running: a change will be reported. */
  alive(): boolean;
  close(): void;
}

export interface NamespaceMonitorOptions {
  /** The namespace's file (/run/netns/NAME or /proc/PID/ns/net); '' for the agent's own. */
  path: string;
  /** Called once per burst of changes (after `settleMs` without another). */
  onChange(): void;
  /** Quiet time that ends a burst (default 50 ms: a new veth brings a dozen lines). */
  settleMs?: number;
  /** Wait before starting a monitor that exited again (default 5 s). */
  restartMs?: number;
}

/** What `ip monitor` is asked for: every object a namespace's node view is built from. */
const MONITORED = ['link', 'address', 'route', 'nsid'];

export function monitorNamespace(o: NamespaceMonitorOptions): NamespaceMonitor {
  const settleMs = o.settleMs ?? 50;
  const restartMs = o.restartMs ?? 5000;
  let child: ChildProcess | null = null;
  let running = false;
  let closed = false;
  let settle: NodeJS.Timeout | null = null;
  let restart: NodeJS.Timeout | null = null;

  const changed = (): void => {
    if (settle) clearTimeout(settle);
    settle = setTimeout(() => {
      settle = null;
      if (!closed) o.onChange();
    }, settleMs);
    settle.unref();
  };

  const start = (): void => {
    restart = null;
    if (closed) return;
    const enter = o.path === '' ? [] : ['nsenter', `--net=${o.path}`];
    const c = spawn('setpriv', ['--pdeathsig', 'KILL', ...enter, 'ip', 'monitor', ...MONITORED], { stdio: ['ignore', 'pipe', 'ignore'] });
    child = c;
    c.stdout?.on('data', changed);
    c.once('spawn', () => {
      running = true;
      // Whatever changed between the caller's last read and now is reported as a change.
      changed();
    });
    const ended = (): void => {
      if (child !== c) return;
      child = null;
      running = false;
      if (!closed) {
        restart = setTimeout(start, restartMs);
        restart.unref();
      }
    };
    c.once('error', ended);
    c.once('exit', ended);
  };
  start();

  return {
    alive: () => running,
    close() {
      closed = true;
      running = false;
      if (settle) clearTimeout(settle);
      if (restart) clearTimeout(restart);
      child?.kill('SIGKILL');
      child = null;
    },
  };
}

/** The file that names a namespace given as the agent's options do: a name under /run/netns or a path; '' is the agent's own. */
export function namespacePath(spec: string): string {
  if (spec === '') return '';
  return spec.includes('/') ? spec : `/run/netns/${spec}`;
}

export interface NamespaceRescans {
  close(): void;
}

export interface NamespaceRescansOptions {
  /** The namespaces (`namespacePath`), by index. */
  paths: readonly string[];
  /** Reads the namespaces at these indexes again (errors are the reader's to report). */
  read(indexes: number[]): Promise<void>;
  /** How often a namespace without a running monitor is read (the old polling). */
  intervalMs: number;
  /** A namespace is read at least this often even when its monitor says nothing (default 30 s). */
  safetyMs?: number;
  /** Also read at `intervalMs` while this says so (a pod whose addresses are not known yet). */
  pending?(): boolean;
}

/**
 * Reads each namespace when its monitor reports a change, every `intervalMs` while it has no
 * monitor, and every `safetyMs` regardless (a missed line must not hide a pod for good). One read
 * at a time; changes reported during a read are read after it.
 */
export function rescanOnChange(o: NamespaceRescansOptions): NamespaceRescans {
  const safetyMs = o.safetyMs ?? 30_000;
  const dirty = o.paths.map(() => false);
  const lastRead = o.paths.map(() => Date.now());
  let running = false;
  let again = false;
  let closed = false;

  const kick = (): void => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    const now = Date.now();
    const pending = o.pending?.() ?? false;
    const due = o.paths.map((_, i) => i).filter((i) => dirty[i] || pending || !monitors[i]!.alive() || now - lastRead[i]! >= safetyMs);
    if (due.length === 0) return;
    for (const i of due) {
      dirty[i] = false;
      lastRead[i] = now;
    }
    running = true;
    o.read(due)
      .catch(() => undefined)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          kick();
        }
      });
  };
  const monitors = o.paths.map((path, i) =>
    monitorNamespace({
      path,
      onChange: () => {
        dirty[i] = true;
        kick();
      },
    }),
  );
  const timer = setInterval(kick, o.intervalMs);
  timer.unref();
  return {
    close() {
      closed = true;
      clearInterval(timer);
      for (const m of monitors) m.close();
    },
  };
}
