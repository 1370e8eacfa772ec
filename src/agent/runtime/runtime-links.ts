/**
 * @module Runtime links: which inbound request an outbound message serves, told by the runtime
 * itself where a thread id cannot tell (a Node.js event loop serves many requests on one thread).
 *
 * `startRuntimeLinks` owns the unix-socket report server, the link store, and the attach queue:
 * a Node.js server seen doing socket I/O is hooked once (node/inspector-attach.ts evaluates
 * node/hook-script.ts in it), and from then on its reports answer `inboundFor`. Every answer is
 * exact or undefined: "missing", never "wrong".
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { EbpfEvent } from '../ebpf/decode-events.js';
import { evaluateInNodeProcess, type AttachOutcome } from './node/inspector-attach.js';
import { hookExpression } from './node/hook-script.js';
import { createLinkStore, type InboundRef, type LinkStoreStats, type SocketTuple } from './node/link-store.js';
import { startReportServer, type ReportServer } from './node/report-server.js';
import { judgeTarget } from './node/target-policy.js';

export type { InboundRef, SocketTuple } from './node/link-store.js';

export interface RuntimeLinks {
  /** Reports are expected from this process (the hook is installed and its channel is open). */
  hooked(pid: number): boolean;
  /**
   * The inbound (server-side) connection whose request caused the outbound message that starts on
   * `outbound` (the client-side socket, seen from pid) with first byte at tcp seq `tcpSeq`, at
   * wall time `startUnixNano` (the start of the syscall that sent that byte). undefined when no
   * report covers it or the mapping is not certain. The answer's `ordinal` says which HTTP request
   * on that connection (1 = first); without it the link is to the connection only.
   */
  inboundFor(pid: number, outbound: SocketTuple, tcpSeq: number, startUnixNano: bigint): InboundRef | undefined;
  /** Wall-clock ns up to which this pid's reports have been received (so a caller can wait briefly for reports still in flight before deciding). */
  reportedUntil(pid: number): bigint;
  close(): Promise<void>;
}

export interface AttachRecord {
  pid: number;
  outcome: AttachOutcome | { kind: 'pending' } | { kind: 'not-a-target'; reason: string };
}

export interface RuntimeLinksStats extends LinkStoreStats {
  hookedProcesses: number;
  attachAttempts: number;
  attachFailures: number;
}

export interface RuntimeLinksControl extends RuntimeLinks {
  /**
   * Hooks `pid` if it is a Node.js server (once per pid; an exec'd pid counts as new). A pid named
   * here is hooked even if its environment says WEFT_NODE_HOOK=0, which only keeps the automatic
   * attach (`observe`) away.
   */
  attach(pid: number): void;
  /** Resolves when `pid`'s attach attempt finished (immediately when there was none). */
  attached(pid: number): Promise<AttachRecord | undefined>;
  /**
   * Feeds the agent's eBPF batches: egress syscalls of hooked processes (to learn each socket's
   * tcp seq ↔ stream offset), process exec/exit (to forget), and, with `autoAttach`, new pids
   * doing socket I/O (to attach).
   */
  observe(batch: readonly EbpfEvent[]): void;
  stats(): RuntimeLinksStats;
}

export interface RuntimeLinksLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RuntimeLinksOptions {
  /** The unix socket hooks report to (default /run/weft/node-links-<agent pid>.sock). */
  socketPath?: string;
  logger: RuntimeLinksLogger;
  /** The eBPF source's clock: wall = CLOCK_MONOTONIC + offsetNs. */
  clock: { offsetNs: bigint };
  /** false: nothing is attached and every answer is undefined (`--no-node-hook`). */
  enabled: boolean;
  /** Attach to new pids seen by `observe` (default true). */
  autoAttach?: boolean;
  /** Budget for each of one attach's inspector steps (default 5000 ms). */
  attachTimeoutMs?: number;
}

/** Where the agent's report socket lives; one file per agent process, so agents never contend. */
export const RUNTIME_LINKS_DIR = '/run/weft';
/**
 * A hook's hello must arrive within this long after its attach ended. The token is made before
 * the attach (the expression carries it), and the attach itself may take its whole budget on a
 * loaded host (the inspector opening, the evaluation and the close: up to three budgets; 13 s was
 * seen at load 19 on 2 cores), so the token's life is that budget plus this.
 */
const TOKEN_TTL_MS = 10_000;
const DEFAULT_ATTACH_TIMEOUT_MS = 5_000;

/** Socket files of agents that died without closing (their pid is gone). */
function removeDeadAgentSockets(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^node-links-(\d+)\.sock$/.exec(name);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Another agent cleaned it first.
    }
  }
}

function disabledLinks(): RuntimeLinksControl {
  return {
    hooked: () => false,
    inboundFor: () => undefined,
    reportedUntil: () => 0n,
    close: async () => undefined,
    attach: () => undefined,
    attached: async () => undefined,
    observe: () => undefined,
    stats: () => ({ reports: 0, invalidReports: 0, droppedReports: 0, learnedSockets: 0, conflictingSockets: 0, hookedProcesses: 0, attachAttempts: 0, attachFailures: 0 }),
  };
}

/** Attach attempts per process before it is left unlinked, and the wait before each retry (× try). */
const MAX_ATTACH_TRIES = 3;
const ATTACH_RETRY_MS = 1_000;

export async function startRuntimeLinks(opts: RuntimeLinksOptions): Promise<RuntimeLinksControl> {
  if (!opts.enabled) return disabledLinks();
  const log = opts.logger;
  const store = createLinkStore({ offsetNs: opts.clock.offsetNs });
  const live = new Set<number>();
  const attempts = new Map<number, Promise<AttachRecord>>();
  let failures = 0;
  const retries = new Map<number, number>();
  let closed = false;
  // One attach at a time: SIGUSR1 opens every inspector on the same default port.
  let queue: Promise<unknown> = Promise.resolve();

  if (opts.socketPath === undefined) {
    mkdirSync(RUNTIME_LINKS_DIR, { recursive: true, mode: 0o755 });
    // Hooked processes that do not run as root must reach the socket: traverse (not list) the dir.
    const mode = statSync(RUNTIME_LINKS_DIR).mode & 0o777;
    if ((mode & 0o011) !== 0o011) chmodSync(RUNTIME_LINKS_DIR, mode | 0o011);
    removeDeadAgentSockets(RUNTIME_LINKS_DIR);
  }
  const server: ReportServer = await startReportServer(opts.socketPath ?? join(RUNTIME_LINKS_DIR, `node-links-${process.pid}.sock`), {
    onHello(pid, hello) {
      store.open(pid);
      live.add(pid);
      log.info({ component: 'agent.runtime-links', pid, node: hello.nodeVersion }, 'Node.js runtime links: hook reporting');
    },
    onReport(pid, report) {
      store.apply(pid, report);
    },
    onClose(pid) {
      live.delete(pid);
    },
  });

  const attemptAttach = async (pid: number, automatic: boolean): Promise<AttachRecord> => {
    const verdict = judgeTarget(pid, automatic);
    if (!verdict.hook) return { pid, outcome: { kind: 'not-a-target', reason: verdict.reason } };
    const token = server.issueToken(pid, TOKEN_TTL_MS + 3 * (opts.attachTimeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS));
    const outcome = await evaluateInNodeProcess(pid, hookExpression(server.socketPath, token), opts.attachTimeoutMs === undefined ? {} : { timeoutMs: opts.attachTimeoutMs });
    const ctx = { component: 'agent.runtime-links', pid };
    if (outcome.kind === 'evaluated' && outcome.value !== 'installed') {
      failures++;
      log.warn({ ...ctx, result: outcome.value }, 'Node.js runtime links: hook not installed; this process\'s outbound calls stay unlinked');
      return { pid, outcome: { kind: 'failed', reason: String(outcome.value) } };
    }
    if (outcome.kind === 'failed') {
      failures++;
      // A loaded machine can make the inspector slow to answer, or another attach may hold the
      // default port: try again later, a few times, before leaving the process unlinked.
      const tries = (retries.get(pid) ?? 0) + 1;
      if (tries < MAX_ATTACH_TRIES && !closed && !outcome.inspectorLeftOpen) {
        retries.set(pid, tries);
        const again = setTimeout(() => {
          attempts.delete(pid);
          attach(pid, automatic);
        }, ATTACH_RETRY_MS * tries);
        again.unref();
      }
      log.warn({ ...ctx, reason: outcome.reason, inspectorLeftOpen: outcome.inspectorLeftOpen ?? false }, 'Node.js runtime links: attach failed; this process\'s outbound calls stay unlinked');
    } else if (outcome.kind === 'evaluated') {
      if (outcome.inspectorLeftOpen) log.warn(ctx, 'Node.js runtime links: the inspector we opened did not close');
      log.info({ ...ctx, inspector: outcome.inspector, openMs: outcome.openMs }, 'Node.js runtime links: hook installed');
    }
    return { pid, outcome };
  };

  const attach = (pid: number, automatic = false): void => {
    if (closed || attempts.has(pid)) return;
    const run = queue.then(() => (closed ? { pid, outcome: { kind: 'failed' as const, reason: 'closed' } } : attemptAttach(pid, automatic)));
    attempts.set(pid, run);
    queue = run.catch(() => undefined);
  };

  return {
    hooked: (pid) => live.has(pid),
    inboundFor: (pid, outbound, tcpSeq, startUnixNano) => store.inboundFor(pid, outbound, tcpSeq, startUnixNano),
    reportedUntil: (pid) => store.reportedUntil(pid),
    attach,
    attached: async (pid) => attempts.get(pid),
    observe(batch) {
      for (const ev of batch) {
        switch (ev.kind) {
          case 'data':
            if (ev.direction === 'egress' && ev.tcpSeqValid && store.has(ev.pid)) store.observeEgress(ev.pid, ev, ev.tcpSeq, ev.startUnixNano);
            if (opts.autoAttach !== false && !attempts.has(ev.pid)) attach(ev.pid, true);
            break;
          case 'accept':
            if (opts.autoAttach !== false && !attempts.has(ev.pid)) attach(ev.pid, true);
            break;
          case 'exec':
          case 'exit':
            // A new program image (or none): the old hook is gone with it, a new one may be due.
            attempts.delete(ev.pid);
            retries.delete(ev.pid);
            live.delete(ev.pid);
            store.forget(ev.pid);
            break;
          case 'connect':
          case 'close':
          case 'frame':
            break;
        }
      }
    },
    stats: () => ({ ...store.stats(), hookedProcesses: live.size, attachAttempts: attempts.size, attachFailures: failures }),
    async close() {
      closed = true;
      await queue.catch(() => undefined);
      await server.close();
    },
  };
}
