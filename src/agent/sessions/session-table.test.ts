import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DataEvent, SessionInputEvent } from '../capture/capture-event.js';
import { emptySpan, type SpanRecord } from '../../model/index.js';
import type { ConnInfo } from '../protocols/protocol.js';
import type { L7Connection, L7Protocol, MessageRole } from './l7-port.js';
import type { Message } from './messages.js';
import { http1Parser } from '../protocols/http1/index.js';
import { l7ProtocolOf } from './protocol-adapter.js';
import { createSessionTable, DEFAULT_SESSION_OPTIONS, socketReused, type SessionOptions } from './session-table.js';

/**
 * A fake line protocol for testing the table alone: requests are `Q <n>\n`, responses `A <n>\n`,
 * answered in order. (Real protocols are tested in src/agent/protocols.)
 */
const lineProtocol: L7Protocol = {
  name: 'line',
  detect(bytes, role) {
    const s = Buffer.from(bytes).toString('latin1');
    return s.startsWith(role === 'request' ? 'Q ' : 'A ') ? 'yes' : 'no';
  },
  open(conn: ConnInfo): L7Connection {
    const pending: Message[] = [];
    const span = (req: Message | null, resp: Message | null): SpanRecord => {
      const s = emptySpan(conn);
      Object.assign(s, {
        protocol: 'line',
        requestType: 'Q',
        requestResource: req ? Buffer.from(req.bytes).toString('latin1').trim().slice(2) : '',
        responseStatus: resp ? 'ok' : 'timeout',
        startTimeUnixNano: (req ?? resp)!.startUnixNano,
        endTimeUnixNano: resp ? resp.startUnixNano : req!.endUnixNano,
        reqTcpSeq: req?.tcpSeq ?? 0,
        respTcpSeq: resp?.tcpSeq ?? 0,
        syscallTraceIdReq: req?.syscallTraceId ?? 0,
        syscallTraceIdResp: resp?.syscallTraceId ?? 0,
        clientPort: conn.clientPort,
        serverPort: conn.serverPort,
        processId: conn.processId,
        hostId: conn.hostId,
        kind: conn.observationPoint === 'c-p' ? 'client' : 'server',
      });
      return s;
    };
    return {
      onMessage(role: MessageRole, m: Message) {
        if (role === 'request') {
          pending.push(m);
          return [];
        }
        const req = pending.shift() ?? null;
        return [span(req, m)];
      },
      endStreams: () => [],
      drain() {
        return pending.splice(0).map((req) => span(req, null));
      },
      pending: () => pending.length,
    };
  },
};

let nextId = 0;
function options(over: Partial<SessionOptions> = {}): SessionOptions {
  nextId = 0;
  return {
    ...DEFAULT_SESSION_OPTIONS,
    hostId: 'host-1',
    protocols: [lineProtocol],
    source: 'sys',
    origin: 'ebpf',
    newSpanId: () => (++nextId).toString(16).padStart(16, '0'),
    ...over,
  };
}

function data(over: Partial<DataEvent> & Pick<DataEvent, 'direction' | 'startUnixNano'> & { text: string }): DataEvent {
  const payload = Buffer.from(over.text, 'latin1');
  return {
    kind: 'data',
    socketId: 1n,
    pid: 100,
    tid: 101,
    comm: 'client',
    endUnixNano: over.startUnixNano + 10n,
    totalBytes: payload.length,
    payload,
    transport: 'tcp',
    ipVersion: 4,
    localIp: '127.0.0.1',
    localPort: 40000,
    remoteIp: '127.0.0.1',
    remotePort: 8080,
    tcpSeq: 0,
    syscallTraceId: 0,
    messageStart: true,
    interfaceName: '',
    ...over,
  };
}

describe('session table', () => {
  it('pairs requests and responses on a keep-alive connection, client side', () => {
    const t = createSessionTable(options());
    const spans = t.push([
      data({ direction: 'egress', startUnixNano: 1000n, text: 'Q 1\n', tcpSeq: 11, syscallTraceId: 5 }),
      data({ direction: 'ingress', startUnixNano: 2000n, text: 'A 1\n', tcpSeq: 21, syscallTraceId: 6 }),
      data({ direction: 'egress', startUnixNano: 3000n, text: 'Q 2\n', tcpSeq: 15 }),
      data({ direction: 'ingress', startUnixNano: 4000n, text: 'A 2\n', tcpSeq: 25 }),
    ]);
    // The last response completes only when something ends its message (sweep/close).
    spans.push(...t.sweep(4010n + DEFAULT_SESSION_OPTIONS.messageIdleNano + 1n));
    expect(spans.map((s) => [s.observationPoint, s.requestResource, s.reqTcpSeq, s.respTcpSeq])).toEqual([
      ['c-p', '1', 11, 21],
      ['c-p', '2', 15, 25],
    ]);
    expect(spans[0]).toMatchObject({
      // A client with no inbound request open on its thread serves nobody: no syscall link.
      syscallTraceIdReq: 0,
      syscallTraceIdResp: 0,
      attributes: { 'weft.link.evidence': 'none' },
      startTimeUnixNano: 1000n,
      endTimeUnixNano: 2000n,
      clientPort: 40000,
      serverPort: 8080,
      processId: 100,
      hostId: 'host-1',
      source: 'sys',
    });
  });

  it('detects the server side from an inbound request', () => {
    const t = createSessionTable(options());
    const spans = t.push([
      data({ direction: 'ingress', startUnixNano: 1n, text: 'Q x\n', localPort: 8080, remotePort: 40000 }),
      data({ direction: 'egress', startUnixNano: 2n, text: 'A x\n', localPort: 8080, remotePort: 40000 }),
      { kind: 'close', socketId: 1n, pid: 100, unixNano: 3n },
    ]);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ observationPoint: 's-p', serverPort: 8080, clientPort: 40000, kind: 'server' });
  });

  it('joins a message split over several syscalls and keeps the first syscall keys', () => {
    const t = createSessionTable(options());
    const spans = t.push([
      data({ direction: 'egress', startUnixNano: 1n, text: 'Q sp', tcpSeq: 100, syscallTraceId: 9 }),
      data({ direction: 'egress', startUnixNano: 2n, text: 'lit\n', tcpSeq: 104, syscallTraceId: 0 }),
      data({ direction: 'ingress', startUnixNano: 3n, text: 'A\n' }),
      { kind: 'close', socketId: 1n, pid: 100, unixNano: 4n },
    ]);
    expect(spans[0]).toMatchObject({ requestResource: 'split', reqTcpSeq: 100, startTimeUnixNano: 1n });
  });

  it('keeps a frame whose message went idle half-written, and finishes it with the rest (real HTTP parser)', () => {
    const t = createSessionTable(options({ protocols: [l7ProtocolOf(http1Parser)] }));
    const ms = 1_000_000n;
    const head = 'GET /slow HTTP/1.1\r\nHost: a\r\n';
    // The client writes half a request head, stalls past messageIdleNano, then the rest and a
    // second pipelined request; the server answers both.
    expect(t.push([data({ direction: 'egress', startUnixNano: 1n * ms, text: head, tcpSeq: 1000 })])).toEqual([]);
    expect(t.sweep(50n * ms)).toEqual([]);
    const rest = 'X-Request-ID: r1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n';
    t.push([data({ direction: 'egress', startUnixNano: 60n * ms, text: rest, tcpSeq: 1000 + head.length, messageStart: false })]);
    const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    const spans = [...t.push([data({ direction: 'ingress', startUnixNano: 70n * ms, text: ok + ok, tcpSeq: 5000 })]), ...t.sweep(100n * ms)];
    expect(spans.map((s) => [s.requestResource, s.responseCode, s.xRequestIdReq, s.reqTcpSeq])).toEqual([
      ['/slow', 200, 'r1', 1000],
      ['/next', 200, '', 1000 + head.length + 'X-Request-ID: r1\r\n\r\n'.length],
    ]);
    expect(spans[0]?.startTimeUnixNano).toBe(1n * ms);
  });

  it('bounds what a slow upload makes the connection carry: past it the request is finished as partial', () => {
    const t = createSessionTable(options({ protocols: [l7ProtocolOf(http1Parser)] }));
    const ms = 1_000_000n;
    const head = 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n';
    let seq = 1;
    let at = 1n;
    t.push([data({ direction: 'egress', startUnixNano: at * ms, text: head, tcpSeq: seq })]);
    seq += head.length;
    // 4000-byte writes 20 ms apart: every message goes idle with the body unfinished.
    for (let i = 0; i < 6; i++) {
      t.sweep((at + 15n) * ms);
      at += 20n;
      t.push([data({ direction: 'egress', startUnixNano: at * ms, text: 'x'.repeat(4000), tcpSeq: seq, messageStart: false })]);
      seq += 4000;
    }
    t.sweep((at + 15n) * ms);
    const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    const spans = [...t.push([data({ direction: 'ingress', startUnixNano: (at + 30n) * ms, text: ok, tcpSeq: 9000 })]), ...t.sweep((at + 60n) * ms)];
    expect(spans.map((s) => [s.requestType, s.requestResource, s.responseCode, s.reqTcpSeq])).toEqual([['POST', '/upload', 200, 1]]);
  });

  it('completes a half-written frame as partial when the connection closes', () => {
    const t = createSessionTable(options({ protocols: [l7ProtocolOf(http1Parser)] }));
    const ms = 1_000_000n;
    t.push([data({ direction: 'egress', startUnixNano: 1n * ms, text: 'GET /cut HTTP/1.1\r\nHo', tcpSeq: 7 })]);
    t.sweep(50n * ms);
    const spans = t.push([{ kind: 'close', socketId: 1n, pid: 100, unixNano: 60n * ms }]);
    expect(spans.map((s) => [s.requestResource, s.responseStatus])).toEqual([['/cut', 'timeout']]);
  });

  it('closes unanswered requests as timeouts', () => {
    const t = createSessionTable(options({ requestTimeoutNano: 100n }));
    expect(t.push([data({ direction: 'egress', startUnixNano: 1n, text: 'Q lost\n' })])).toEqual([]);
    const spans = t.sweep(1_000_000_000n);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.responseStatus).toBe('timeout');
  });

  it('bounds connections, evicting the least recently used', () => {
    const t = createSessionTable(options({ maxConnections: 2 }));
    for (let i = 0; i < 5; i++) t.push([data({ socketId: BigInt(i), direction: 'egress', startUnixNano: BigInt(i), text: 'Q a\n' })]);
    expect(t.stats().connections).toBe(2);
    expect(t.stats().evictedConnections).toBe(3);
  });

  it('gives the same spans whatever the order of events inside a batch', () => {
    const events = [
      data({ direction: 'egress', startUnixNano: 10n, text: 'Q 1\n' }),
      data({ direction: 'ingress', startUnixNano: 20n, text: 'A 1\n' }),
      data({ direction: 'egress', startUnixNano: 30n, text: 'Q 2\n' }),
      data({ direction: 'ingress', startUnixNano: 40n, text: 'A 2\n' }),
    ];
    const run = (evs: DataEvent[]) => {
      const t = createSessionTable(options());
      return [...t.push(evs), ...t.flush()].map((s) => [s.requestResource, s.startTimeUnixNano, s.endTimeUnixNano]);
    };
    const expected = run(events);
    fc.assert(fc.property(fc.shuffledSubarray(events, { minLength: 4, maxLength: 4 }), (shuffled) => {
      expect(run(shuffled)).toEqual(expected);
    }));
  });
});

describe('socket reuse', () => {
  it('a socket id that comes back for another socket starts a new connection (its close went unseen)', () => {
    const t = createSessionTable(options());
    const ms = 1_000_000n;
    // Socket 1: a client connection of pid 100 with one request answered and one in flight, then
    // gone without a close record (its process exited, or the record was dropped).
    const spans = t.push([
      data({ direction: 'egress', startUnixNano: 1n * ms, text: 'Q old-1\n' }),
      data({ direction: 'ingress', startUnixNano: 2n * ms, text: 'A old-1\n' }),
      data({ direction: 'egress', startUnixNano: 3n * ms, text: 'Q old-2\n' }),
    ]);
    // The kernel hands the same socket (id) to another process's accepted connection.
    const reused = { socketId: 1n, pid: 200, tid: 201, comm: 'server', localPort: 9090, remotePort: 50001 };
    spans.push(
      ...t.push([
        { kind: 'accept', socketId: 1n, pid: 200, tid: 201, comm: 'server', unixNano: 4n * ms, transport: 'tcp', ipVersion: 4, localIp: '127.0.0.1', localPort: 9090, remoteIp: '127.0.0.1', remotePort: 50001 } as SessionInputEvent,
        data({ ...reused, direction: 'ingress', startUnixNano: 5n * ms, text: 'Q new-1\n' }),
        data({ ...reused, direction: 'egress', startUnixNano: 6n * ms, text: 'A new-1\n' }),
        { kind: 'close', socketId: 1n, pid: 200, unixNano: 7n * ms },
      ]),
    );
    expect(spans.map((s) => [s.requestResource, s.observationPoint, s.processId, s.clientPort, s.serverPort, s.responseStatus])).toEqual([
      ['old-1', 'c-p', 100, 40000, 8080, 'ok'],
      // The old connection's request in flight ends with it, as at a close.
      ['old-2', 'c-p', 100, 40000, 8080, 'timeout'],
      ['new-1', 's-p', 200, 50001, 9090, 'ok'],
    ]);
    expect(t.stats().reusedSockets).toBe(1);
  });

  it('a reused socket id is told apart by its data alone, and an unconnected UDP socket by its own end only', () => {
    expect(socketReused({ transport: 'tcp', localIp: '10.0.0.1', localPort: 40000, remoteIp: '10.0.0.2', remotePort: 80 }, { transport: 'tcp', localIp: '10.0.0.1', localPort: 40000, remoteIp: '10.0.0.2', remotePort: 80 })).toBe(false);
    expect(socketReused({ transport: 'tcp', localIp: '10.0.0.1', localPort: 40000, remoteIp: '10.0.0.2', remotePort: 80 }, { transport: 'tcp', localIp: '10.0.0.1', localPort: 40000, remoteIp: '10.0.0.3', remotePort: 80 })).toBe(true);
    expect(socketReused({ transport: 'tcp', localIp: '10.0.0.1', localPort: 40000, remoteIp: '10.0.0.2', remotePort: 80 }, { transport: 'tcp', localIp: '10.0.0.1', localPort: 40001, remoteIp: '10.0.0.2', remotePort: 80 })).toBe(true);
    // A DNS server's socket answers many clients: one socket.
    expect(socketReused({ transport: 'udp', localIp: '10.0.0.1', localPort: 53, remoteIp: '10.0.0.2', remotePort: 5000 }, { transport: 'udp', localIp: '10.0.0.1', localPort: 53, remoteIp: '10.0.0.7', remotePort: 6000 })).toBe(false);
    expect(socketReused({ transport: 'udp', localIp: '10.0.0.1', localPort: 53, remoteIp: '10.0.0.2', remotePort: 5000 }, { transport: 'tcp', localIp: '10.0.0.1', localPort: 53, remoteIp: '10.0.0.2', remotePort: 5000 })).toBe(true);
    // A record whose socket could not be read (ports 0) says nothing.
    expect(socketReused({ transport: 'tcp', localIp: '10.0.0.1', localPort: 40000, remoteIp: '10.0.0.2', remotePort: 80 }, { transport: 'tcp', localIp: '', localPort: 0, remoteIp: '', remotePort: 0 })).toBe(false);

    // Data alone (no accept record): the new socket's messages are its own.
    const t = createSessionTable(options());
    const spans = t.push([
      data({ direction: 'egress', startUnixNano: 1n, text: 'Q a\n' }),
      data({ direction: 'ingress', startUnixNano: 2n, text: 'A a\n' }),
      data({ direction: 'egress', startUnixNano: 3n, text: 'Q b\n', pid: 300, localPort: 40100 }),
      data({ direction: 'ingress', startUnixNano: 4n, text: 'A b\n', pid: 300, localPort: 40100 }),
      { kind: 'close', socketId: 1n, pid: 300, unixNano: 5n },
    ]);
    expect(spans.map((s) => [s.requestResource, s.processId, s.clientPort])).toEqual([
      ['a', 100, 40000],
      ['b', 300, 40100],
    ]);
  });
});

describe('memory', () => {
  it("a connection does not keep its first event's poll buffer alive", async () => {
    // eBPF payloads are views into the poll's copy (up to 4 MiB): a connection holding its first
    // event kept that whole poll for its life.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const t = createSessionTable(options());
    const text = 'Q 1\n';
    const freed = ((): WeakRef<ArrayBuffer> => {
      const poll = new ArrayBuffer(1 << 20);
      const bytes = new Uint8Array(poll, 4096, text.length);
      bytes.set(Buffer.from(text, 'latin1'));
      t.push([data({ direction: 'egress', startUnixNano: 1000n, text, payload: bytes })]);
      return new WeakRef(poll);
    })();
    // Complete the message (its bytes go to the parser), leaving the connection open and idle.
    const spans = t.push([data({ direction: 'ingress', startUnixNano: 2000n, text: 'A 1\n' })]);
    spans.push(...t.sweep(3000n + DEFAULT_SESSION_OPTIONS.messageIdleNano));
    expect(spans.map((s) => s.requestResource)).toEqual(['1']);
    expect(t.stats().connections).toBe(1);
    for (let i = 0; i < 5 && freed.deref() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    expect(freed.deref()).toBeUndefined();
  });
});

describe('datagram fingerprint', () => {
  it('is the same for a datagram seen by its sender and by its receiver, and differs for other datagrams', async () => {
    const { datagramFingerprint } = await import('./session-table.js');
    const sent = data({ direction: 'egress', startUnixNano: 1n, text: 'Q dns\n', transport: 'udp', localPort: 5353, remotePort: 53 });
    const received = data({ direction: 'ingress', startUnixNano: 2n, text: 'Q dns\n', transport: 'udp', localPort: 53, remotePort: 5353 });
    const other = data({ direction: 'egress', startUnixNano: 3n, text: 'Q other\n', transport: 'udp', localPort: 5353, remotePort: 53 });
    expect(datagramFingerprint(sent)).toBe(datagramFingerprint(received));
    expect(datagramFingerprint(sent)).not.toBe(datagramFingerprint(other));
    expect(datagramFingerprint(sent)).not.toBe(0);
  });
});
