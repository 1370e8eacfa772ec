/**
 * @module Node.js runtime links on real processes: a plain Node.js middle tier (no Weft code, no
 * flags; test/agent/runtime-links/node-middle-tier.cjs) serves 64 concurrent requests, each
 * calling a keep-alive HTTP backend and Redis (ioredis, one shared connection). The hook is
 * attached from here through the process's own inspector; the eBPF source captures the middle
 * tier's syscalls. Every outbound message (by its tcp seq) must map to the inbound request whose
 * id its path or key carries (ground truth: the id travels in every hop), none may map wrong; the
 * inspector port we opened must be closed again; a process started with --inspect keeps its
 * inspector and its debugger session; a process we cannot hook answers nothing (missing, not wrong).
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EbpfEvent, SyscallEvent } from '../../src/agent/ebpf/decode-events.js';
import { createEbpfSource, type EbpfSource } from '../../src/agent/ebpf/ebpf-source.js';
import { listeningPortsOf, listeningSockets } from '../../src/agent/runtime/node/proc-info.js';
import { startRuntimeLinks, type RuntimeLinksControl } from '../../src/agent/runtime/runtime-links.js';
import { startAgent } from '../../src/agent/index.js';
import { freePort } from '../../src/demo/services/process-control.js';
import { startRedis } from '../../src/demo/services/real-services.js';
import type { RunningService } from '../../src/demo/services/process-control.js';
import { ebpfUnavailable } from './traced-topology.js';

const unavailable = ebpfUnavailable('Node.js runtime links test');
const FIXTURE = join(import.meta.dirname, 'runtime-links', 'node-middle-tier.cjs');
const IN_FLIGHT = 64;

const silent = { info: () => undefined, warn: () => undefined };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Middle {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Its raw TCP (line protocol) server. */
  rawPort: number;
}

interface Capture {
  source: EbpfSource;
  links: RuntimeLinksControl;
  events: SyscallEvent[];
  stop(): Promise<void>;
}

/** Every outcome of one run, by the ground truth carried in each message. */
interface Tally {
  correct: number;
  wrong: string[];
  missing: number;
}

async function startMiddle(backendPort: number, redisPort: number | null, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<Middle> {
  const child = spawn(process.execPath, [...nodeArgs, FIXTURE], {
    env: { ...process.env, BACKEND_PORT: String(backendPort), REDIS_PORT: String(redisPort ?? 0), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.resume();
  const ports = await new Promise<{ port: number; rawPort: number }>((resolve, reject) => {
    child.stdout?.once('data', (b: Buffer) => resolve(JSON.parse(b.toString()) as { port: number; rawPort: number }));
    child.once('exit', (code) => reject(new Error(`middle tier exited ${code}`)));
  });
  return { child, pid: child.pid as number, ...ports };
}

async function startCapture(pid: number, dir: string): Promise<Capture> {
  const source = createEbpfSource({ allowPids: [pid] });
  const links = await startRuntimeLinks({ socketPath: join(dir, `links-${pid}.sock`), logger: silent, clock: source.clock, enabled: true, autoAttach: false });
  const events: SyscallEvent[] = [];
  const draining = (async () => {
    for await (const batch of source) {
      links.observe(batch);
      for (const e of batch as EbpfEvent[]) if (e.kind === 'data' && e.pid === pid && e.direction === 'egress') events.push(e);
    }
  })();
  return {
    source,
    links,
    events,
    async stop() {
      source.close();
      await draining;
      await links.close();
    },
  };
}

/**
 * Sends `n` concurrent requests over a keep-alive pool (so one inbound connection carries several
 * requests), half GETs, half POSTs whose body the middle tier reads before its call; returns the id
 * each (client port, ordinal on that connection) carried.
 */
async function drive(port: number, n: number, tag: string): Promise<Map<string, string>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const truth = new Map<string, string>();
  const perSocket = new Map<Socket, number>();
  await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const post = i % 2 === 1;
          // 'p' marks a POST's id (no Redis call); the random part is lower-case hex, never 'p'.
          const id = `${tag}${i}${post ? 'p' : 'g'}${Math.floor(Math.random() * 0xffffff).toString(16)}`;
          const req = http.request({ host: '127.0.0.1', port, method: post ? 'POST' : 'GET', path: post ? `/post/${id}` : `/req/${id}`, agent }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
          });
          req.on('error', reject);
          if (post) {
            // Two body chunks, the second a moment later: the body's events arrive in separate turns.
            req.write('x'.repeat(1000));
            setTimeout(() => req.end('y'.repeat(500)), Math.random() * 5);
          } else req.end();
          req.on('socket', (s: Socket) => {
            const ordinal = (perSocket.get(s) ?? 0) + 1;
            perSocket.set(s, ordinal);
            const record = (): void => void truth.set(`${s.localPort}#${ordinal}`, id);
            if (s.localPort) record();
            else s.once('connect', record);
          });
        }),
    ),
  );
  agent.destroy();
  return truth;
}

/** `connections` raw TCP connections, two ids each; returns the ids each client port carried. */
async function driveRaw(port: number, connections: number, tag: string): Promise<Map<number, string[]>> {
  const truth = new Map<number, string[]>();
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const ids = [`${tag}${i}a`, `${tag}${i}b`];
      truth.set(socket.localPort ?? 0, ids);
      socket.setEncoding('utf8');
      let got = '';
      const done = new Promise<void>((resolve) =>
        socket.on('data', (d: string) => {
          got += d;
          if (got.split('\n').length > ids.length) resolve();
        }),
      );
      socket.write(`${ids[0]}\n`);
      await sleep(Math.random() * 5);
      socket.write(`${ids[1]}\n`);
      await done;
      socket.end();
    }),
  );
  return truth;
}

/** Outbound messages in one egress syscall: [offset in payload, ground-truth id]. */
function messagesIn(e: SyscallEvent, backendPort: number, redisPort: number | null): Array<[number, string]> {
  const text = Buffer.from(e.payload).toString('latin1');
  const out: Array<[number, string]> = [];
  if (e.remotePort === backendPort) {
    for (const m of text.matchAll(/GET \/backend\/([\w-]+) HTTP/g)) out.push([m.index, m[1] as string]);
  } else if (redisPort !== null && e.remotePort === redisPort) {
    // RESP: each command is an array (*2) of bulk strings; ours is GET k:<id>.
    for (const m of text.matchAll(/\*2\r\n\$3\r\nget\r\n\$\d+\r\nk:([\w-]+)\r\n/gi)) out.push([m.index, m[1] as string]);
  }
  return out;
}

async function tally(cap: Capture, m: Middle, truth: Map<string, string>, backendPort: number, redisPort: number | null, rawTruth = new Map<number, string[]>()): Promise<{ http: Tally; redis: Tally }> {
  const ids = new Set([...truth.values(), ...[...rawTruth.values()].flat()]);
  const relevant = (): SyscallEvent[] => cap.events.filter((e) => messagesIn(e, backendPort, redisPort).some(([, id]) => ids.has(id)));
  // Wait for the kernel events of every message, then for the hook's reports to cover them.
  // (Every id reaches the backend; the GETs' ids reach Redis too.)
  const expected = ids.size + (redisPort === null ? 0 : [...truth.values()].filter((id) => !id.includes('p')).length);
  for (let i = 0; i < 200; i++) {
    const found = new Set(relevant().flatMap((e) => messagesIn(e, backendPort, redisPort).map(([, id]) => `${e.remotePort}/${id}`)));
    if (found.size >= expected) break;
    await sleep(25);
  }
  const lastStart = relevant().reduce((t, e) => (e.startUnixNano > t ? e.startUnixNano : t), 0n);
  for (let i = 0; i < 200 && cap.links.reportedUntil(m.pid) < lastStart; i++) await sleep(10);
  const result = { http: { correct: 0, wrong: [] as string[], missing: 0 }, redis: { correct: 0, wrong: [] as string[], missing: 0 } };
  for (const e of relevant()) {
    for (const [at, id] of messagesIn(e, backendPort, redisPort)) {
      if (!ids.has(id)) continue;
      const t = e.remotePort === backendPort ? result.http : result.redis;
      const inbound = cap.links.inboundFor(m.pid, e, (e.tcpSeq + at) >>> 0, e.startUnixNano);
      if (!inbound) t.missing++;
      else {
        // HTTP: the request by its ordinal on the connection; raw TCP: the connection (no ordinal).
        const got =
          inbound.localPort === m.port && inbound.ordinal !== undefined
            ? truth.get(`${inbound.remotePort}#${inbound.ordinal}`)
            : inbound.localPort === m.rawPort && inbound.ordinal === undefined && rawTruth.get(inbound.remotePort)?.includes(id)
              ? id
              : undefined;
        if (got === id) t.correct++;
        else t.wrong.push(`${id} -> ${got ?? JSON.stringify({ ...inbound, requestStartUnixNano: String(inbound.requestStartUnixNano) })}`);
      }
    }
  }
  return result;
}

/** The inode is nowhere in this namespace's TCP listeners: nobody listens on that socket any more. */
function stillListening(inode: string): boolean {
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((f) => listeningSockets(readFileSync(f, 'utf8')).some((l) => l.inode === inode));
}

describe.skipIf(unavailable !== null)('Node.js runtime links (inspector hook, real processes, eBPF seqs)', () => {
  let dir: string;
  let redis: RunningService;
  let backend: http.Server;
  let backendPort: number;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-runtime-links-'));
    redis = await startRedis(join(dir, 'redis'));
    backend = http.createServer((req, res) => setTimeout(() => res.end(`b:${req.url}`), Math.random() * 10));
    backend.keepAliveTimeout = 30_000;
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    backendPort = (backend.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const c of started) c.kill('SIGKILL');
    backend?.closeAllConnections();
    backend?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`maps every outbound message of ${IN_FLIGHT} concurrent HTTP requests (and 8 raw TCP connections) to its own inbound request, and closes the inspector it opened`, async () => {
    const m = await startMiddle(backendPort, redis.port);
    started.push(m.child);
    const cap = await startCapture(m.pid, dir);
    try {
      const before = listeningPortsOf(m.pid).map((l) => l.inode).sort();
      cap.links.attach(m.pid);
      const rec = await cap.links.attached(m.pid);
      expect(rec?.outcome, JSON.stringify(rec?.outcome)).toMatchObject({ kind: 'evaluated', value: 'installed', inspector: 'opened' });
      const outcome = rec?.outcome;
      if (outcome?.kind !== 'evaluated') throw new Error('not attached');
      // The port SIGUSR1 opened is gone: the process listens on exactly what it listened on before.
      expect(listeningPortsOf(m.pid).map((l) => l.inode).sort()).toEqual(before);
      expect(listeningPortsOf(m.pid).some((l) => l.port === outcome.port)).toBe(false);
      expect(outcome.inspectorLeftOpen).toBeUndefined();
      console.info(`inspector open for ${outcome.openMs} ms (SIGUSR1 to port closed)`);
      for (let i = 0; i < 100 && !cap.links.hooked(m.pid); i++) await sleep(10);
      expect(cap.links.hooked(m.pid)).toBe(true);

      const [truth, rawTruth] = await Promise.all([drive(m.port, IN_FLIGHT, 'c'), driveRaw(m.rawPort, 8, 'r')]);
      const t = await tally(cap, m, truth, backendPort, redis.port, rawTruth);
      expect(t.http.wrong).toEqual([]);
      expect(t.redis.wrong).toEqual([]);
      // Every backend call: one per HTTP request (GET and POST) and two per raw connection.
      expect(t.http.correct).toBe(IN_FLIGHT + 16);
      // Redis is called by the GET handler only.
      expect(t.redis.correct).toBe(IN_FLIGHT / 2);
      expect(cap.links.stats().conflictingSockets).toBe(0);
    } finally {
      await cap.stop();
    }
  });

  it('reuses the inspector of a process started with --inspect, leaves it open, and its debugger session keeps working', async () => {
    const inspectPort = await freePort();
    const m = await startMiddle(backendPort, null, [`--inspect=127.0.0.1:${inspectPort}`]);
    started.push(m.child);
    // The process's own debugger, attached before us.
    const list = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
    const debuggerWs = new WebSocket(list[0]?.webSocketDebuggerUrl ?? '');
    await once(debuggerWs, 'open');
    const cap = await startCapture(m.pid, dir);
    try {
      const inspector = listeningPortsOf(m.pid).find((l) => l.port === inspectPort);
      expect(inspector).toBeDefined();
      cap.links.attach(m.pid);
      const rec = await cap.links.attached(m.pid);
      expect(rec?.outcome, JSON.stringify(rec?.outcome)).toMatchObject({ kind: 'evaluated', value: 'installed', inspector: 'reused', port: inspectPort });
      expect(stillListening(inspector?.inode ?? '')).toBe(true);
      // The debugger's session is still there and answers.
      const answer = new Promise<unknown>((resolve) =>
        debuggerWs.on('message', (d) => {
          const msg = JSON.parse(String(d)) as { id?: number; result?: { result?: { value?: unknown } } };
          if (msg.id === 7) resolve(msg.result?.result?.value);
        }),
      );
      debuggerWs.send(JSON.stringify({ id: 7, method: 'Runtime.evaluate', params: { expression: '6 * 7' } }));
      expect(await answer).toBe(42);

      for (let i = 0; i < 100 && !cap.links.hooked(m.pid); i++) await sleep(10);
      const truth = await drive(m.port, 8, 'i');
      const t = await tally(cap, m, truth, backendPort, null);
      expect(t.http.wrong).toEqual([]);
      expect(t.http.correct).toBe(8);
    } finally {
      debuggerWs.terminate();
      await cap.stop();
    }
  });

  it('the agent hooks a Node.js server it sees doing socket I/O on its own when asked (as weft up does by default); otherwise it leaves it alone', async () => {
    // Test processes carry WEFT_NODE_HOOK=0 (vitest.config.ts) so no agent hooks them on its own; this one may be.
    const m = await startMiddle(backendPort, null, [], { WEFT_NODE_HOOK: '1' });
    started.push(m.child);
    const sink = { submit: async (): Promise<void> => undefined };
    const off = await startAgent({ sink, interfaces: [], logger: silent, ebpf: { ports: [m.port] }, nodeHook: false, nodeHookSocket: join(dir, 'off.sock') });
    const on = await startAgent({ sink, interfaces: [], logger: silent, ebpf: { ports: [m.port] }, nodeHook: true, nodeHookSocket: join(dir, 'on.sock') });
    try {
      await drive(m.port, 2, 'a');
      let rec;
      for (let i = 0; i < 300 && !(rec = await on.runtimeLinks.attached(m.pid)); i++) await sleep(10);
      expect(rec?.outcome, JSON.stringify(rec?.outcome)).toMatchObject({ kind: 'evaluated', value: 'installed', inspector: 'opened' });
      for (let i = 0; i < 100 && !on.runtimeLinks.hooked(m.pid); i++) await sleep(10);
      expect(on.runtimeLinks.hooked(m.pid)).toBe(true);
      expect(await off.runtimeLinks.attached(m.pid)).toBeUndefined();
      expect(off.runtimeLinks.hooked(m.pid)).toBe(false);
    } finally {
      await on.close();
      await off.close();
    }
  });

  it('a hook removes itself when its agent goes away: a restarted agent hooks the process again', async () => {
    const m = await startMiddle(backendPort, null);
    started.push(m.child);
    const first = await startCapture(m.pid, dir);
    first.links.attach(m.pid);
    expect((await first.links.attached(m.pid))?.outcome).toMatchObject({ kind: 'evaluated', value: 'installed' });
    for (let i = 0; i < 100 && !first.links.hooked(m.pid); i++) await sleep(10);
    expect(first.links.hooked(m.pid)).toBe(true);
    await first.stop();
    const second = await startCapture(m.pid, dir);
    try {
      second.links.attach(m.pid);
      // Not "busy: hooked by another Weft agent": the first hook saw its channel close and left.
      expect((await second.links.attached(m.pid))?.outcome).toMatchObject({ kind: 'evaluated', value: 'installed' });
      for (let i = 0; i < 100 && !second.links.hooked(m.pid); i++) await sleep(10);
      const truth = await drive(m.port, 8, 'h');
      const t = await tally(second, m, truth, backendPort, null);
      expect(t.http.wrong).toEqual([]);
      expect(t.http.correct).toBe(8);
    } finally {
      await second.stop();
    }
  });

  it('a process it cannot hook (it takes SIGUSR1 for itself) answers nothing: missing, never wrong', async () => {
    const m = await startMiddle(backendPort, null, [], { HANDLE_SIGUSR1: '1' });
    started.push(m.child);
    const cap = await startCapture(m.pid, dir);
    try {
      const before = listeningPortsOf(m.pid).map((l) => l.inode).sort();
      cap.links.attach(m.pid);
      const rec = await cap.links.attached(m.pid);
      expect(rec?.outcome.kind).toBe('failed');
      expect(cap.links.hooked(m.pid)).toBe(false);
      expect(listeningPortsOf(m.pid).map((l) => l.inode).sort()).toEqual(before);
      const truth = await drive(m.port, 8, 'u');
      const t = await tally(cap, m, truth, backendPort, null);
      expect(t.http).toEqual({ correct: 0, wrong: [], missing: 8 });
      // The process is fine; what the signal cost it is its own handler running (once for our
      // signal; another agent on a shared host may have sent its own).
      const handled = Number(await (await fetch(`http://127.0.0.1:${m.port}/sigusr1`)).text());
      expect(handled).toBeGreaterThanOrEqual(1);
    } finally {
      await cap.stop();
    }
  });
});
