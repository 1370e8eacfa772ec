/**
 * @module Evaluating one expression in a running Node.js process through its own inspector, with
 * no restart: reuse the inspector the process was started with (--inspect…), or open it with
 * SIGUSR1, evaluate, and close it again with `process._debugEnd()`.
 *
 * The inspector port is found by socket ownership (/proc/PID/fd), never by guessing that
 * 127.0.0.1:9229 belongs to the target: a port opened by SIGUSR1 is the listener that appears
 * among the target's own sockets after the signal. An inspector the process had before we came is
 * left open; one we opened is closed, and its disappearance is checked.
 */
import { get } from 'node:http';
import WebSocket from 'ws';
import { startNetnsRelay, type NetnsRelay } from './netns-relay.js';
import {
  argvOf,
  catchesSigusr1,
  environOf,
  executableOf,
  inspectorFlagOf,
  isNodeExecutable,
  listeningPortsOf,
  sameNetNamespace,
  type ListeningPort,
} from './proc-info.js';

export type AttachOutcome =
  /** The expression ran and returned `value`. `openMs`: how long the port we opened was listening. */
  | { kind: 'evaluated'; value: unknown; inspector: 'opened' | 'reused'; port: number; openMs?: number; inspectorLeftOpen?: boolean }
  /** Deliberately not touched (not Node, another network namespace, SIGUSR1 would kill it…). */
  | { kind: 'skipped'; reason: string }
  /** Tried and failed; an inspector we opened was closed again unless `inspectorLeftOpen`. */
  | { kind: 'failed'; reason: string; inspectorLeftOpen?: boolean };

export interface AttachOptions {
  /** Budget for the inspector to open, and for each protocol round trip (default 5000 ms). */
  timeoutMs?: number;
  /** Poll interval while waiting for the port to open or close (default 5 ms). */
  pollMs?: number;
  /** Where the relay into another network namespace puts its unix socket (default /run/weft). */
  relayDir?: string;
}

/** As OBI: the inspector thread of a loaded host can take seconds to bind after SIGUSR1. */
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_POLL_MS = 5;
/** Inspector messages are small; the hook expression is ~10 KiB, replies smaller. */
const MAX_MESSAGE_BYTES = 1 << 20;
const CLOSE_EXPRESSION = 'process._debugEnd()';
/** Where SIGUSR1 opens the inspector unless the process was started with --inspect-port. */
const DEFAULT_INSPECTOR_PORT = 9229;
/** Least time a relay into another network namespace is given to start. */
const RELAY_START_MS = 15_000;
/** The runtime links' directory (runtime-links.ts), where relay sockets go too. */
const DEFAULT_RELAY_DIR = '/run/weft';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where to connect for a listener: its own address, or loopback for a wildcard one. */
function connectHost(l: ListeningPort): string {
  if (l.ip === '0.0.0.0') return '127.0.0.1';
  if (/^[0:]+$/.test(l.ip)) return '::1';
  return l.ip.includes(':') ? `[${l.ip}]` : l.ip;
}

/**
 * How to reach one inspector: host:port in our namespace, or through a relay into the target's
 * (netns-relay.ts). The Host header stays the inspector's own address either way: the inspector
 * refuses hosts that are not an IP address or localhost (DNS rebinding).
 */
interface InspectorRoute {
  host: string;
  port: number;
  relay: NetnsRelay | null;
}

async function routeTo(pid: number, listener: ListeningPort, timeoutMs: number, relayDir: string): Promise<InspectorRoute> {
  const host = connectHost(listener);
  // 127.0.0.1 in another namespace is not our 127.0.0.1.
  // Starting the relay starts a node process: seconds on a loaded host, and an attach whose relay
  // never came up cannot close the inspector it opened, so its budget is wider than one step's.
  const relay = sameNetNamespace(pid) ? null : await startNetnsRelay(pid, host, listener.port, relayDir, Math.max(3 * timeoutMs, RELAY_START_MS));
  return { host, port: listener.port, relay };
}

function getJson(route: InspectorRoute, path: string, timeoutMs: number): Promise<unknown> {
  const where = route.relay ? { socketPath: route.relay.socketPath } : { host: route.host.replace(/^\[(.*)\]$/, '$1'), port: route.port };
  return new Promise((resolve, reject) => {
    const req = get({ ...where, path, headers: { host: `${route.host}:${route.port}` }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`the inspector answered ${path} with no JSON (status ${res.statusCode})`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the inspector to ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

async function debuggerUrl(route: InspectorRoute, timeoutMs: number): Promise<string> {
  const targets = await getJson(route, '/json/list', timeoutMs);
  if (!Array.isArray(targets) || targets.length === 0) throw new Error('the inspector lists no target');
  const url = (targets[0] as { webSocketDebuggerUrl?: unknown }).webSocketDebuggerUrl;
  if (typeof url !== 'string' || !url.startsWith('ws://')) throw new Error('the inspector gave no WebSocket URL');
  return url;
}

/** The part of a Chrome DevTools Protocol answer we read. */
interface CdpReply {
  id?: number;
  result?: { result?: { value?: unknown }; exceptionDetails?: { text?: string; exception?: { description?: string } } };
  error?: { message?: string };
}

interface InspectorSession {
  evaluate(expression: string, timeoutMs: number, closeAfter?: string): Promise<unknown>;
  /** Sends an evaluation whose effect closes the socket; resolves when it closed (or the budget ran out). */
  sendAndAwaitClose(expression: string, timeoutMs: number): Promise<boolean>;
  close(): void;
}

async function openSession(route: InspectorRoute, url: string, timeoutMs: number): Promise<InspectorSession> {
  // Through a relay: the same path on its unix socket (ws's `ws+unix://SOCKET:PATH` form).
  const target = route.relay ? `ws+unix://${route.relay.socketPath}:${new URL(url).pathname}` : url;
  const ws = new WebSocket(target, { handshakeTimeout: timeoutMs, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES, headers: { host: `${route.host}:${route.port}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const waiting = new Map<number, (msg: CdpReply) => void>();
  ws.on('message', (data) => {
    try {
      const msg = JSON.parse(String(data)) as CdpReply;
      if (typeof msg.id === 'number') waiting.get(msg.id)?.(msg);
    } catch {
      // Not JSON: not an answer to us.
    }
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('error', () => undefined);
  return {
    async evaluate(expression, budgetMs, closeAfter) {
      const id = nextId++;
      const reply = await new Promise<CdpReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`no answer from the inspector within ${budgetMs} ms (paused in a debugger?)`));
        }, budgetMs);
        waiting.set(id, (msg) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(msg);
        });
        ws.send(JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression, includeCommandLineAPI: true, returnByValue: true, silent: true } }));
        // Queued right behind it: the inspector runs both in order on the main thread, so the
        // port closes even if that thread is busy past our budget and we have hung up by then.
        if (closeAfter !== undefined) ws.send(JSON.stringify({ id: nextId++, method: 'Runtime.evaluate', params: { expression: closeAfter, includeCommandLineAPI: true, silent: true } }));
      });
      if (reply.error) throw new Error(`inspector error: ${reply.error.message ?? 'unknown'}`);
      const ex = reply.result?.exceptionDetails;
      if (ex) throw new Error(`the expression threw: ${ex.exception?.description ?? ex.text ?? 'unknown'}`);
      return reply.result?.result?.value;
    },
    async sendAndAwaitClose(expression, budgetMs) {
      ws.send(JSON.stringify({ id: nextId++, method: 'Runtime.evaluate', params: { expression, includeCommandLineAPI: true, silent: true } }));
      return Promise.race([closed.then(() => true), sleep(budgetMs).then(() => false)]);
    },
    close() {
      ws.terminate();
    },
  };
}

async function waitFor<T>(probe: () => T | null, timeoutMs: number, pollMs: number): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== null) return v;
    if (performance.now() > deadline) return null;
    await sleep(pollMs);
  }
}

/**
 * Runs `expression` in process `pid` (which must be a Node.js process in this network namespace)
 * and leaves its inspector as it found it. Never throws; the outcome says what happened.
 */
export async function evaluateInNodeProcess(pid: number, expression: string, opts: AttachOptions = {}): Promise<AttachOutcome> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  if (pid === process.pid) return { kind: 'skipped', reason: 'the agent itself' };
  // A retry owns whatever inspector appears from now on; an earlier attempt's watch stands down.
  lateWatches.delete(pid);
  const exe = executableOf(pid);
  if (exe === null) return { kind: 'skipped', reason: 'process gone or not readable' };
  if (!isNodeExecutable(exe)) return { kind: 'skipped', reason: `not Node.js (${exe})` };
  const relayDir = opts.relayDir ?? DEFAULT_RELAY_DIR;
  const flag = inspectorFlagOf(argvOf(pid), environOf(pid, 'NODE_OPTIONS'));
  if (flag) {
    if (flag.port === null) return { kind: 'skipped', reason: 'started with an inspector on a random port' };
    const listener = listeningPortsOf(pid).find((l) => l.port === flag.port);
    if (!listener) return { kind: 'skipped', reason: `started with --inspect, but it does not listen on ${flag.port}` };
    return evaluateThrough(listener, expression, 'reused', timeoutMs, pid, null, pollMs, relayDir);
  }

  const listeners = listeningPortsOf(pid);
  // Opened earlier by someone's SIGUSR1: the process owns the default inspector port. Not ours to close.
  const preOpened = listeners.find((l) => l.port === DEFAULT_INSPECTOR_PORT && (l.ip === '127.0.0.1' || l.ip === '0.0.0.0'));
  if (preOpened) return evaluateThrough(preOpened, expression, 'reused', timeoutMs, pid, null, pollMs, relayDir);
  if (!catchesSigusr1(pid)) return { kind: 'skipped', reason: 'SIGUSR1 is not handled (it would terminate the process)' };
  const before = new Set(listeners.map((l) => l.inode));
  const signalledAt = performance.now();
  try {
    process.kill(pid, 'SIGUSR1');
  } catch (err) {
    return { kind: 'failed', reason: `SIGUSR1: ${(err as Error).message}` };
  }
  const opened = await waitFor(() => listeningPortsOf(pid).find((l) => !before.has(l.inode)) ?? null, timeoutMs, pollMs);
  if (!opened) {
    // On a loaded host the inspector may still come up after we gave up: it is ours to close.
    closeLateInspector(pid, before, timeoutMs, relayDir);
    return { kind: 'failed', reason: 'no inspector port opened after SIGUSR1 (the port, 9229 by default, may be taken, or the process handles SIGUSR1 itself)' };
  }
  return evaluateThrough(opened, expression, 'opened', timeoutMs, pid, signalledAt, pollMs, relayDir);
}

/** How long after a timed-out SIGUSR1 we keep watching for the inspector it may still open. */
const LATE_INSPECTOR_WATCH_MS = 60_000;
const LATE_INSPECTOR_POLL_MS = 100;

/** The late-inspector watch of each pid; a new attach of that pid ends it (the port is then its). */
const lateWatches = new Map<number, symbol>();

/** Watches (in the background) for an inspector our SIGUSR1 opened late, and closes it. */
function closeLateInspector(pid: number, before: ReadonlySet<string>, timeoutMs: number, relayDir: string): void {
  const watch = Symbol('late-inspector');
  lateWatches.set(pid, watch);
  const current = (): boolean => lateWatches.get(pid) === watch;
  void (async () => {
    const late = await waitFor(() => (!current() ? false : (listeningPortsOf(pid).find((l) => !before.has(l.inode)) ?? null)), LATE_INSPECTOR_WATCH_MS, LATE_INSPECTOR_POLL_MS);
    if (current()) lateWatches.delete(pid);
    if (!late) return;
    let session: InspectorSession | null = null;
    let route: InspectorRoute | null = null;
    try {
      route = await routeTo(pid, late, timeoutMs, relayDir);
      session = await openSession(route, await debuggerUrl(route, timeoutMs), timeoutMs);
      await session.sendAndAwaitClose(CLOSE_EXPRESSION, timeoutMs);
    } catch {
      // Nothing more we can do; the port check below is the record.
    } finally {
      session?.close();
      route?.relay?.close();
    }
  })();
}

async function evaluateThrough(
  listener: ListeningPort,
  expression: string,
  inspector: 'opened' | 'reused',
  timeoutMs: number,
  pid: number,
  signalledAt: number | null,
  pollMs: number,
  relayDir: string,
): Promise<AttachOutcome> {
  let route: InspectorRoute | null = null;
  try {
    route = await routeTo(pid, listener, timeoutMs, relayDir);
  } catch (err) {
    // No way in (not root, no nsenter): an inspector we opened stays open, and says so.
    return { kind: 'failed', reason: (err as Error).message, ...(inspector === 'opened' ? { inspectorLeftOpen: true } : {}) };
  }
  try {
    return await evaluateOnRoute(route, listener, expression, inspector, timeoutMs, pid, signalledAt, pollMs);
  } finally {
    route.relay?.close();
  }
}

async function evaluateOnRoute(
  route: InspectorRoute,
  listener: ListeningPort,
  expression: string,
  inspector: 'opened' | 'reused',
  timeoutMs: number,
  pid: number,
  signalledAt: number | null,
  pollMs: number,
): Promise<AttachOutcome> {
  let session: InspectorSession | null = null;
  let value: unknown;
  let failure: string | null = null;
  try {
    session = await openSession(route, await debuggerUrl(route, timeoutMs), timeoutMs);
    value = await session.evaluate(expression, timeoutMs, inspector === 'opened' ? CLOSE_EXPRESSION : undefined);
  } catch (err) {
    failure = (err as Error).message;
  }
  if (inspector === 'reused') {
    session?.close();
    return failure === null ? { kind: 'evaluated', value, inspector, port: listener.port } : { kind: 'failed', reason: failure };
  }
  // We opened it: the close went out behind the evaluation; if our session never came up, close
  // it through a fresh one.
  let closedPort = false;
  try {
    if (session === null) {
      session = await openSession(route, await debuggerUrl(route, timeoutMs), timeoutMs);
      await session.sendAndAwaitClose(CLOSE_EXPRESSION, timeoutMs);
    }
  } catch {
    // Reported below through the port check.
  } finally {
    session?.close();
  }
  closedPort = (await waitFor(() => (listeningPortsOf(pid).some((l) => l.inode === listener.inode) ? null : true), timeoutMs, pollMs)) === true;
  const openMs = signalledAt === null ? undefined : Math.round(performance.now() - signalledAt);
  if (failure !== null) return { kind: 'failed', reason: failure, ...(closedPort ? {} : { inspectorLeftOpen: true }) };
  return { kind: 'evaluated', value, inspector, port: listener.port, ...(openMs === undefined ? {} : { openMs }), ...(closedPort ? {} : { inspectorLeftOpen: true }) };
}
