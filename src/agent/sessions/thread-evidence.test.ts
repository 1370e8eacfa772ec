import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DataEvent, SessionInputEvent } from '../capture/capture-event.js';
import type { SpanRecord } from '../../model/index.js';
import { http1Parser } from '../protocols/http1/index.js';
import { l7ProtocolOf } from './protocol-adapter.js';
import { createSessionTable, DEFAULT_SESSION_OPTIONS, type SessionOptions } from './session-table.js';
import { decideEvidence, ThreadEvidence } from './thread-evidence.js';

/**
 * One process (pid 100) with server connections (local port 8080) and client connections to a
 * backend (remote port 9000), all driven through the real HTTP/1 parser. `tid` says which thread
 * made each syscall; `sid` is the kernel's per-thread syscall trace id of an inbound message.
 */
let nextId = 0;
function table(over: Partial<SessionOptions> = {}) {
  nextId = 0;
  return createSessionTable({
    ...DEFAULT_SESSION_OPTIONS,
    hostId: 'h',
    protocols: [l7ProtocolOf(http1Parser)],
    source: 'sys',
    origin: 'ebpf',
    newSpanId: () => (++nextId).toString(16).padStart(16, '0'),
    ...over,
  });
}

const HTTP_REQ = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const HTTP_RESP = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

function ev(socket: number, dir: 'ingress' | 'egress', t: number, text: string, tid: number, sid = 0): DataEvent {
  const server = socket < 100;
  const payload = Buffer.from(text, 'latin1');
  return {
    kind: 'data',
    socketId: BigInt(socket),
    pid: 100,
    tid,
    comm: 'mid',
    direction: dir,
    startUnixNano: BigInt(t),
    endUnixNano: BigInt(t) + 1n,
    totalBytes: payload.length,
    payload,
    transport: 'tcp',
    ipVersion: 4,
    localIp: '127.0.0.1',
    localPort: server ? 8080 : 50000 + socket,
    remoteIp: '127.0.0.1',
    remotePort: server ? 40000 + socket : 9000,
    tcpSeq: t * 10,
    syscallTraceId: sid,
    messageStart: true,
    interfaceName: '',
  };
}
const accept = (socket: number): SessionInputEvent => ({ kind: 'accept', socketId: BigInt(socket), unixNano: 0n });
const connect = (socket: number): SessionInputEvent => ({ kind: 'connect', socketId: BigInt(socket), unixNano: 0n });
const close = (socket: number, t: number): SessionInputEvent => ({ kind: 'close', socketId: BigInt(socket), pid: 100, unixNano: BigInt(t) });

function clientSpans(spans: SpanRecord[]): SpanRecord[] {
  return spans.filter((s) => s.observationPoint === 'c-p').sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
}

describe('thread evidence: which inbound request an outbound call serves', () => {
  it('thread-per-request: each call is certain, and a second call after a backend answer too', () => {
    const t = table();
    const spans = t.push([
      accept(1), accept(2), connect(101), connect(102),
      ev(1, 'ingress', 10, HTTP_REQ('/a'), 7, 50),
      ev(2, 'ingress', 11, HTTP_REQ('/b'), 8, 51),
      ev(101, 'egress', 12, HTTP_REQ('/a1'), 7),
      ev(102, 'egress', 13, HTTP_REQ('/b1'), 8),
      ev(101, 'ingress', 14, HTTP_RESP, 7, 52),
      ev(101, 'egress', 15, HTTP_REQ('/a2'), 7, 52),
      ev(102, 'ingress', 16, HTTP_RESP, 8, 53),
      ev(101, 'ingress', 17, HTTP_RESP, 7, 54),
      ev(1, 'egress', 18, HTTP_RESP, 7, 54),
      ev(2, 'egress', 19, HTTP_RESP, 8, 53),
      close(1, 20), close(2, 20), close(101, 20), close(102, 20),
    ]);
    const cps = clientSpans(spans);
    expect(cps.map((s) => [s.requestResource, s.syscallTraceIdReq, s.attributes['weft.link.evidence']])).toEqual([
      ['/a1', 50, 'thread'],
      ['/b1', 51, 'thread'],
      ['/a2', 50, 'thread'],
    ]);
    const sps = spans.filter((s) => s.observationPoint === 's-p');
    expect(sps.map((s) => s.syscallTraceIdReq).sort()).toEqual([50, 51]);
    // Response-side ids name "the last message the thread read": never shipped.
    expect(spans.every((s) => s.syscallTraceIdResp === 0)).toBe(true);
  });

  it('event loop: two requests open on one thread make the call ambiguous, with both candidates', () => {
    const t = table();
    const spans = t.push([
      accept(1), accept(2), connect(101),
      ev(1, 'ingress', 10, HTTP_REQ('/a'), 7, 50),
      ev(2, 'ingress', 11, HTTP_REQ('/b'), 7, 51),
      ev(101, 'egress', 12, HTTP_REQ('/a1'), 7, 51),
      ev(101, 'ingress', 13, HTTP_RESP, 7, 52),
      ev(1, 'egress', 14, HTTP_RESP, 7, 52),
      ev(2, 'egress', 15, HTTP_RESP, 7),
      close(1, 20), close(2, 20), close(101, 20),
    ]);
    const [cp] = clientSpans(spans);
    expect(cp?.syscallTraceIdReq).toBe(0);
    expect(cp?.attributes).toMatchObject({ 'weft.link.evidence': 'ambiguous', 'weft.link.candidates': '50,51', 'weft.thread.open_inbound': 2 });
  });

  it('a request answered in between still makes the thread ambiguous (it turned to other work)', () => {
    const t = table();
    const spans = t.push([
      accept(1), accept(2), connect(101),
      ev(1, 'ingress', 10, HTTP_REQ('/a'), 7, 50),
      ev(2, 'ingress', 11, HTTP_REQ('/b'), 7, 51),
      ev(2, 'egress', 12, HTTP_RESP, 7, 51),
      ev(101, 'egress', 13, HTTP_REQ('/x'), 7),
      ev(101, 'ingress', 14, HTTP_RESP, 7, 52),
      close(1, 20), close(2, 20), close(101, 20),
    ]);
    const [cp] = clientSpans(spans);
    expect(cp?.attributes['weft.link.evidence']).toBe('ambiguous');
    expect(cp?.syscallTraceIdReq).toBe(0);
  });

  it('an event loop once seen serving two requests at once gives no thread evidence, even with one open (a timer may fire)', () => {
    const t = table();
    const spans = t.push([
      accept(1), accept(2), accept(3), connect(101),
      ev(1, 'ingress', 10, HTTP_REQ('/a'), 7, 50),
      ev(2, 'ingress', 11, HTTP_REQ('/b'), 7, 51),
      ev(1, 'egress', 12, HTTP_RESP, 7),
      ev(2, 'egress', 13, HTTP_RESP, 7),
      // Later, one request open; a background call (e.g. a client library's PING) starts.
      ev(3, 'ingress', 20, HTTP_REQ('/c'), 7, 52),
      ev(101, 'egress', 21, HTTP_REQ('/ping'), 7),
      ev(101, 'ingress', 22, HTTP_RESP, 7, 53),
      close(1, 30), close(2, 30), close(3, 30), close(101, 30),
    ]);
    const [cp] = clientSpans(spans);
    expect(cp?.attributes['weft.link.evidence']).toBe('ambiguous');
    expect(cp?.syscallTraceIdReq).toBe(0);
  });

  it('a pipelining client: a request written later in the same message takes what the thread held at its own write', () => {
    const t = table({ protocols: [l7ProtocolOf(http1Parser)] });
    const spans = t.push([
      accept(1), accept(2), connect(101),
      ev(1, 'ingress', 10, HTTP_REQ('/a'), 7, 50),
      ev(101, 'egress', 11, HTTP_REQ('/a1'), 7),
      // Request b arrives; the client writes b's call on the same connection before a1 is answered.
      ev(2, 'ingress', 12, HTTP_REQ('/b'), 7, 51),
      ev(101, 'egress', 13, HTTP_REQ('/b1'), 7),
      ev(101, 'ingress', 14, HTTP_RESP + HTTP_RESP, 7, 52),
      close(1, 30), close(2, 30), close(101, 30),
    ]);
    const cps = clientSpans(spans);
    expect(cps.map((s) => [s.requestResource, s.syscallTraceIdReq, s.attributes['weft.link.evidence']])).toEqual([
      ['/a1', 50, 'thread'],
      ['/b1', 0, 'ambiguous'],
    ]);
  });

  it('the runtime report picks the served request among several open ones', () => {
    const t = table({
      runtimeInbound: (pid, outbound) => (pid === 100 && outbound.localPort === 50101 ? { localIp: '127.0.0.1', localPort: 8080, remoteIp: '127.0.0.1', remotePort: 40002 } : undefined),
    });
    const spans = t.push([
      accept(1), accept(2), connect(101),
      ev(1, 'ingress', 10, HTTP_REQ('/a'), 7, 50),
      ev(2, 'ingress', 11, HTTP_REQ('/b'), 7, 51),
      ev(101, 'egress', 12, HTTP_REQ('/b1'), 7, 51),
      ev(101, 'ingress', 13, HTTP_RESP, 7, 52),
      close(1, 20), close(2, 20), close(101, 20),
    ]);
    const [cp] = clientSpans(spans);
    expect(cp).toMatchObject({ syscallTraceIdReq: 51, attributes: { 'weft.link.evidence': 'runtime' } });
  });

  it('client spans wait for a pending runtime report per process: another process\'s spans are not held behind them', () => {
    // pid 100 has a report in flight for everything; pid 200 has no runtime hook.
    let pending = true;
    const t = table({ runtimePending: (pid) => pid === 100 && pending });
    const other = (e: DataEvent): DataEvent => ({ ...e, pid: 200, socketId: e.socketId + 1000n, localPort: e.localPort + 1000 });
    const first = t.push([
      connect(101),
      ev(101, 'egress', 12, HTTP_REQ('/held'), 7),
      ev(101, 'ingress', 13, HTTP_RESP, 7),
      { kind: 'connect', socketId: 1101n, unixNano: 0n },
      other(ev(101, 'egress', 14, HTTP_REQ('/free'), 9)),
      other(ev(101, 'ingress', 15, HTTP_RESP, 9)),
      close(101, 20),
      { kind: 'close', socketId: 1101n, pid: 200, unixNano: 20n },
    ]);
    expect(clientSpans(first).map((s) => s.requestResource)).toEqual(['/free']);
    // Still pending and within the wait: held.
    expect(clientSpans(t.sweep(100n))).toEqual([]);
    // The report arrived: released on the next sweep.
    pending = false;
    expect(clientSpans(t.sweep(200n)).map((s) => s.requestResource)).toEqual(['/held']);
  });

  it('a pending runtime report is waited for at most RUNTIME_WAIT after the span ended, decided at the second sweep past it', () => {
    const t = table({ runtimePending: () => true });
    const first = t.push([connect(101), ev(101, 'egress', 12, HTTP_REQ('/late'), 7), ev(101, 'ingress', 13, HTTP_RESP, 7), close(101, 20)]);
    expect(clientSpans(first)).toEqual([]);
    expect(clientSpans(t.sweep(13n + 499_000_000n))).toEqual([]);
    // Past the deadline: the first sweep only marks it (reports that arrived while the agent's
    // loop stalled are read before the next sweep).
    expect(clientSpans(t.sweep(13n + 501_000_000n))).toEqual([]);
    expect(clientSpans(t.sweep(13n + 551_000_000n)).map((s) => s.requestResource)).toEqual(['/late']);
  });

  it('a runtime report is waited for RUNTIME_WAIT after the agent finished the span when the agent runs behind', () => {
    let pending = true;
    const t = table({ runtimePending: () => pending });
    // The agent reads these events 2 s after they happened (a loaded host).
    t.sweep(2_000_000_000n);
    t.push([connect(101), ev(101, 'egress', 12, HTTP_REQ('/behind'), 7), ev(101, 'ingress', 13, HTTP_RESP, 7), close(101, 20)]);
    expect(clientSpans(t.sweep(2_050_000_000n))).toEqual([]);
    expect(clientSpans(t.sweep(2_100_000_000n))).toEqual([]);
    pending = false;
    expect(clientSpans(t.sweep(2_150_000_000n)).map((s) => s.requestResource)).toEqual(['/behind']);
  });

  it('a span waiting for its runtime report keeps what its thread held while a burst writes more than a connection keeps', () => {
    // The network-path test's last sequential request: its Redis call waits for the Node.js
    // report while the next burst writes 64+ commands on the same connection. The report then
    // names the request; the call must still find the snapshot of its own write.
    let pending = true;
    const t = table({
      runtimePending: () => pending,
      runtimeInbound: (pid, outbound, tcpSeq) => (outbound.localPort === 50101 && tcpSeq === 120 ? { localIp: '127.0.0.1', localPort: 8080, remoteIp: '127.0.0.1', remotePort: 40001 } : undefined),
    });
    const events: SessionInputEvent[] = [accept(1), connect(101), ev(1, 'ingress', 10, HTTP_REQ('/seq'), 7, 50), ev(101, 'egress', 12, HTTP_REQ('/seq-call'), 7), ev(101, 'ingress', 13, HTTP_RESP, 7), ev(1, 'egress', 14, HTTP_RESP, 7)];
    // The burst: requests on other connections, each making its call on connection 101.
    for (let i = 0; i < 80; i++) {
      const at = 100 + i * 10;
      events.push(accept(200 + i), { ...ev(200 + i, 'ingress', at, HTTP_REQ(`/burst${i}`), 7, 1000 + i), localPort: 8080 }, ev(101, 'egress', at + 1, HTTP_REQ(`/burst${i}-call`), 7), ev(101, 'ingress', at + 2, HTTP_RESP, 7));
    }
    expect(clientSpans(t.push(events))).toEqual([]);
    pending = false;
    const seq = clientSpans(t.sweep(2_000n)).find((s) => s.requestResource === '/seq-call');
    expect(seq).toMatchObject({ syscallTraceIdReq: 50, attributes: { 'weft.link.evidence': 'runtime' } });
  });

  it('a runtime report naming a connection that is not open is not trusted', () => {
    const d = decideEvidence({ startUnixNano: 1n, pid: 1, ordinal: 2, candidates: [], multiplexed: false }, { localIp: '', localPort: 1, remoteIp: 'x', remotePort: 2 });
    expect(d.evidence).toBe('none');
  });

  it('property: with one request open per thread every call is certain and names its own request', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 1000 }), (threadsOf, seed) => {
        // Request k is served by thread threadsOf[k]; threads work through their requests one at
        // a time, interleaved with each other in a seeded order.
        const queues = new Map<number, number[]>();
        threadsOf.forEach((tid, k) => queues.set(tid, [...(queues.get(tid) ?? []), k]));
        // Interleave threads but keep each thread's own order: pick the next step from a random thread.
        const perThread = [...queues.entries()].map(([tid, ks]) => ({ tid, ks: [...ks] }));
        let r = seed;
        const events: SessionInputEvent[] = [];
        for (let k = 0; k < threadsOf.length; k++) events.push(accept(k + 1), connect(101 + k));
        const pending = perThread.map((p) => ({ ...p, step: 0 }));
        let time = 10;
        const inFlight = new Map<number, DataEvent[]>();
        while (pending.some((p) => p.ks.length > 0 || (inFlight.get(p.tid)?.length ?? 0) > 0)) {
          r = (r * 1103515245 + 12345) & 0x7fffffff;
          const live = pending.filter((p) => p.ks.length > 0 || (inFlight.get(p.tid)?.length ?? 0) > 0);
          const p = live[r % live.length]!;
          let q = inFlight.get(p.tid);
          if (!q || q.length === 0) {
            const k = p.ks.shift()!;
            q = [ev(k + 1, 'ingress', 0, HTTP_REQ(`/r${k}`), p.tid, 1000 + k), ev(101 + k, 'egress', 0, HTTP_REQ(`/c${k}`), p.tid), ev(101 + k, 'ingress', 0, HTTP_RESP, p.tid, 5000 + k), ev(k + 1, 'egress', 0, HTTP_RESP, p.tid)];
            inFlight.set(p.tid, q);
          }
          const e = q.shift()!;
          events.push({ ...e, startUnixNano: BigInt(time), endUnixNano: BigInt(time) + 1n });
          time += 2;
        }
        for (let k = 0; k < threadsOf.length; k++) events.push(close(k + 1, time), close(101 + k, time));
        const spans = table().push(events);
        const cps = spans.filter((s) => s.observationPoint === 'c-p');
        expect(cps).toHaveLength(threadsOf.length);
        for (const cp of cps) {
          const k = Number(cp.requestResource.slice(2));
          expect(cp.attributes['weft.link.evidence']).toBe('thread');
          expect(cp.syscallTraceIdReq).toBe(1000 + k);
        }
      }),
      { numRuns: Number(process.env['FC_RUNS'] ?? 200) },
    );
  });

  it('forgets a closed connection and bounds its thread table', () => {
    const te = new ThreadEvidence();
    const conn = { side: 'server' as const, ev: { localIp: '', localPort: 1, remoteIp: '', remotePort: 2, pid: 1 } };
    te.onMessageStart(conn, ev(1, 'ingress', 1, 'x', 3, 9));
    te.close(conn);
    const snap = te.onMessageStart({ side: 'client', ev: conn.ev }, ev(101, 'egress', 2, 'y', 3));
    expect(snap?.candidates).toEqual([]);
    expect(te.threadCount()).toBe(1);
  });
});
