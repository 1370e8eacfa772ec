/**
 * @module The parser side of the kernel's HTTP/2 frame walk: records with DATA payloads left out
 * (as gaps) must give the same spans as the whole bytes, for any split of real captures into
 * calls, and a walk the parser cannot place (joined late) must never give a wrong value. The
 * gap table's decoding refuses tables that do not add up.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../model/index.js';
import type { DataEvent, KeptBytes } from '../../capture/capture-event.js';
import { decodeEvents, decodeKept, type SyscallEvent } from '../../ebpf/decode-events.js';
import { EVENT_HEADER_SIZE, EVENT_OFFSETS as O, WEFT_FLAG_H2_WALK, WEFT_KIND_DATA } from '../../ebpf/events.gen.js';
import { l7ProtocolOf } from '../../sessions/protocol-adapter.js';
import { createSessionTable, DEFAULT_SESSION_OPTIONS } from '../../sessions/session-table.js';
import { readPcapFlows, type Flow } from '../testing/pcap-flows.js';
import { connOf } from '../testing/replay.js';
import { startRecordingProxy } from '../testing/recording-proxy.js';
import { walkBegin, walkCall, type WalkPosition } from '../testing/h2-walk-model.js';
import { http2Parser } from './index.js';

const flowsOf = (name: string): Flow[] => readPcapFlows(readFileSync(new URL(`./testdata/${name}.pcap`, import.meta.url)));
const CAPTURES = ['nghttp-concurrent', 'grpc-js-calls'].map((name) => ({ name, flows: flowsOf(name) }));

function event(fromClient: boolean, bytes: Uint8Array, tcpSeq: number, meta: { startUnixNano: bigint; endUnixNano: bigint }, kept: KeptBytes | null): DataEvent {
  const ev: DataEvent = {
    kind: 'data',
    socketId: 1n,
    pid: 1,
    tid: 1,
    comm: 'test',
    // Seen from the client's side: requests leave, responses come in.
    direction: fromClient ? 'egress' : 'ingress',
    startUnixNano: meta.startUnixNano,
    endUnixNano: meta.endUnixNano,
    totalBytes: bytes.length,
    payload: kept ? kept.data.subarray(0, kept.gaps[0]?.at ?? kept.data.length) : bytes,
    transport: 'tcp',
    ipVersion: 4,
    localIp: '127.0.0.1',
    localPort: 1,
    remoteIp: '127.0.0.1',
    remotePort: 2,
    tcpSeq,
    syscallTraceId: 0,
    messageStart: true,
    interfaceName: '',
  };
  if (kept && kept.gaps.length > 0) ev.kept = kept;
  return ev;
}

/** One frame: a 9-byte header and `len` bytes of filler. */
function frame(type: number, flags: number, stream: number, len: number): Buffer {
  const b = Buffer.alloc(9 + len, 0x2e);
  b.writeUIntBE(len, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  return b;
}

/** Field values a span must agree on (times and ids left out). */
const view = (s: SpanRecord): string => JSON.stringify([s.requestId, s.requestType, s.requestResource, s.responseCode, s.responseStatus, s.traceId, s.reqTcpSeq, s.respTcpSeq]);

/**
 * Feeds each flow through the sessions' HTTP/2 port, one event per call: messages cut into calls
 * at `cuts` (fractions), walked from message `from` on (earlier messages are not seen at all).
 * `walk` false: every call whole, the reference.
 */
function run(flows: readonly Flow[], walk: boolean, cuts: number[] = [], from = 0): { spans: SpanRecord[]; keptBytes: number; totalBytes: number } {
  const spans: SpanRecord[] = [];
  let keptBytes = 0;
  let totalBytes = 0;
  for (const flow of flows) {
    const l7 = l7ProtocolOf(http2Parser).open(connOf(flow));
    const pos: Record<'request' | 'response', WalkPosition | null> = { request: null, response: null };
    for (const m of flow.messages.slice(from)) {
      const role = m.fromClient ? 'request' : 'response';
      const bytes = m.bytes;
      const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
      // The kernel starts walking a direction at a message start (it checks for a frame there).
      if (walk && !pos[role] && bytes.length > 0) pos[role] = walkBegin(bytes);
      let start = 0;
      for (const p of [...points, bytes.length]) {
        const call = bytes.subarray(start, p);
        const kept = walk ? walkCall(call, pos[role]!) : null;
        if (walk) expect(kept, 'the walk never stops on these captures').not.toBeNull();
        keptBytes += kept ? kept.data.length : call.length;
        totalBytes += call.length;
        spans.push(...l7.onChunk!(role, event(m.fromClient, call, (m.meta.tcpSeq + start) >>> 0, m.meta, kept)));
        start = p;
      }
    }
    spans.push(...l7.endStreams(), ...l7.drain());
  }
  return { spans, keptBytes, totalBytes };
}

describe('HTTP/2 records walked frame by frame (DATA payloads left out as gaps)', () => {
  for (const { name, flows } of CAPTURES) {
    it(`${name}: the same spans as the whole bytes, for any split into calls`, () => {
      const whole = run(flows, false).spans.map(view).sort();
      expect(whole.length).toBeGreaterThan(3);
      const once = run(flows, true);
      expect(once.spans.map(view).sort()).toEqual(whole);
      fc.assert(
        fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), (cuts) => {
          expect(run(flows, true, cuts).spans.map(view).sort()).toEqual(whole);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('nghttp-concurrent: the big body is left out, its frame headers are not', () => {
    const { keptBytes, totalBytes } = run(CAPTURES[0]!.flows, true);
    expect(totalBytes).toBeGreaterThan(100_000);
    expect(keptBytes).toBeLessThan(totalBytes / 20);
  });

  it('a walk begun where the parser joins late (any message, any split) never gives a wrong value', () => {
    for (const { flows } of CAPTURES) {
      const truth = new Map(run(flows, false).spans.map((s) => [s.requestId, s]));
      const messages = flows[0]!.messages.length;
      fc.assert(
        fc.property(fc.integer({ min: 1, max: messages - 1 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (from, cuts) => {
          for (const s of run(flows, true, cuts, from).spans) {
            const t = truth.get(s.requestId);
            expect(t, `stream ${s.requestId}`).toBeDefined();
            if (s.requestResource) expect(s.requestResource).toBe(t!.requestResource);
            if (s.traceId) expect(s.traceId).toBe(t!.traceId);
            if (s.responseCode !== null && s.responseStatus !== 'timeout') expect(s.responseCode).toBe(t!.responseCode);
            if (s.reqTcpSeq) expect(s.reqTcpSeq).toBe(t!.reqTcpSeq);
            if (s.respTcpSeq) expect(s.respTcpSeq).toBe(t!.respTcpSeq);
          }
        }),
        { numRuns: 40 },
      );
    }
  });
});

describe('joining inside a frame', () => {
  // Node's http2 server answering 100 KiB bodies among small answers, all at once: its writes
  // interleave other streams' HEADERS with the big bodies' DATA frames inside one message.
  let flow: Flow;
  beforeAll(async () => {
    const server = createServer();
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      stream.respond({ ':status': path.startsWith('/missing') ? 404 : 200 });
      stream.end(path.startsWith('/big') ? Buffer.alloc(100 * 1024, 'b') : `ok ${path}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = await startRecordingProxy((server.address() as AddressInfo).port);
    const session = connect(`http://127.0.0.1:${proxy.port}`);
    const path = (i: number): string => (i % 4 === 1 ? '/big/' : i % 4 === 3 ? '/missing/' : '/items/') + i;
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => new Promise<void>((resolve, reject) => session.request({ ':path': path(i) }).on('data', () => undefined).on('end', resolve).on('error', reject))),
    );
    session.close();
    await new Promise((r) => setTimeout(r, 100));
    flow = proxy.flows()[0]!;
    await proxy.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  /**
   * The response direction's records as the kernel walked them, the parser seeing message `k`
   * only from byte `cut` on (the records before lost, e.g. ring full): request direction whole.
   */
  function joinAt(k: number, cut: number, walk: boolean): SpanRecord[] {
    const l7 = l7ProtocolOf(http2Parser).open(connOf(flow));
    const spans: SpanRecord[] = [];
    const pos: Record<'request' | 'response', WalkPosition | null> = { request: null, response: null };
    for (const [j, m] of flow.messages.entries()) {
      const role = m.fromClient ? 'request' : 'response';
      pos[role] ??= walkBegin(m.bytes);
      const calls = j === k ? [m.bytes.subarray(0, cut), m.bytes.subarray(cut)] : [m.bytes];
      let start = 0;
      for (const call of calls) {
        const kept = walkCall(call, pos[role]);
        if (j !== k || start === cut) spans.push(...l7.onChunk!(role, event(m.fromClient, call, (m.meta.tcpSeq + start) >>> 0, m.meta, walk ? kept : null)));
        start += call.length;
      }
    }
    spans.push(...l7.endStreams(), ...l7.drain());
    return spans;
  }

  it('walked: picks up at the next frame boundary the walk knows (after a DATA payload), not the next message; every value right', () => {
    const truth = new Map(joinAt(-1, 0, false).map((s) => [s.requestId, s]));
    expect(truth.size).toBe(24);
    const answered = (spans: SpanRecord[]): number => spans.filter((s) => s.responseCode !== null).length;
    let better = 0;
    let cuts = 0;
    for (const [k, m] of flow.messages.entries()) {
      if (m.fromClient || m.bytes.length < 20_000) continue;
      for (let cut = 1; cut < m.bytes.length; cut += 997) {
        const walked = joinAt(k, cut, true);
        const plain = joinAt(k, cut, false);
        cuts++;
        for (const s of walked) {
          const t = truth.get(s.requestId)!;
          if (s.requestResource) expect(s.requestResource).toBe(t.requestResource);
          if (s.responseCode !== null) expect(s.responseCode, `message ${k} cut ${cut}`).toBe(t.responseCode);
          // A response whose HEADERS was lost keys on its END_STREAM frame (to-span.ts): only a seen block's key is compared.
          if (s.responseCode !== null) expect(s.respTcpSeq).toBe(t.respTcpSeq);
        }
        expect(answered(walked)).toBeGreaterThanOrEqual(answered(plain));
        if (answered(walked) > answered(plain)) better++;
      }
    }
    // Some cuts fall where the rest of the message has no header block to pick up.
    expect(cuts).toBeGreaterThan(10);
    expect(better).toBeGreaterThan(0);
    console.log(`joined inside a frame at ${cuts} points: the walk picked up answers within the message at ${better}`);
  });
});

describe("a connection's first message (the one the protocol is detected on), walked", () => {
  it('a client that opens with several requests and bodies between them: every request is read, not only those before the first body', () => {
    // nghttp-concurrent's first client message (preface, SETTINGS, PRIORITY, HEADERS of streams
    // 13, 15, 17, 19) with a 5 000-byte DATA frame after the first two HEADERS, as a client
    // sending bodies right away would write it; the server's messages as recorded.
    const flow = CAPTURES[0]!.flows[0]!;
    const first = flow.messages[0]!.bytes;
    const body = frame(0, 0, 101, 5000);
    const opening = Buffer.concat([first.subarray(0, 224), body, first.subarray(224, 253), body, first.subarray(253)]);
    const truth = new Map(run(CAPTURES[0]!.flows, false).spans.map((s) => [s.requestId, s]));
    const table = createSessionTable({ ...DEFAULT_SESSION_OPTIONS, hostId: 'h', protocols: [l7ProtocolOf(http2Parser)], source: 'sys', origin: 'ebpf', newSpanId: () => '0000000000000001' });
    const pos = { request: walkBegin(opening), response: walkBegin(flow.messages[1]!.bytes) };
    const events: DataEvent[] = [];
    let t = 1_000_000n;
    const at = (): { startUnixNano: bigint; endUnixNano: bigint } => ({ startUnixNano: (t += 1000n), endUnixNano: t + 10n });
    // The opening in two writes, cut inside the first body.
    for (const call of [opening.subarray(0, 2000), opening.subarray(2000)]) events.push(event(true, call, 0, at(), walkCall(call, pos.request)));
    for (const m of flow.messages.slice(1)) events.push(event(m.fromClient, m.bytes, 0, at(), walkCall(m.bytes, pos[m.fromClient ? 'request' : 'response'])));
    expect(events[0]!.kept?.gaps.length).toBe(1);
    const spans = [...table.push(events), ...table.flush()];
    for (const id of [13, 15, 17, 19]) {
      const s = spans.find((x) => x.requestId === id);
      expect(s, `stream ${id}`).toBeDefined();
      expect([s!.requestResource, s!.responseCode]).toEqual([truth.get(id)!.requestResource, truth.get(id)!.responseCode]);
    }
  });
});

describe('decodeKept (the walked record payload: kept bytes, gap table, entry count)', () => {
  const table = (data: number[], gaps: [number, number][], count = gaps.length): Buffer => {
    const b = Buffer.alloc(data.length + 8 * gaps.length + 4);
    Buffer.from(data).copy(b);
    gaps.forEach(([at, len], i) => {
      b.writeUInt32LE(at, data.length + 8 * i);
      b.writeUInt32LE(len, data.length + 8 * i + 4);
    });
    b.writeUInt32LE(count, b.length - 4);
    return b;
  };

  it('reads kept bytes and gaps', () => {
    const k = decodeKept(table([1, 2, 3], [[0, 5], [2, 100]]), 108);
    expect(k && [...k.data]).toEqual([1, 2, 3]);
    expect(k?.gaps).toEqual([{ at: 0, len: 5 }, { at: 2, len: 100 }]);
    expect(decodeKept(table([7], []), 1)?.gaps).toEqual([]);
  });

  it('refuses tables that do not add up', () => {
    expect(decodeKept(Buffer.alloc(3), 3)).toBeNull();
    expect(decodeKept(table([1, 2], [[1, 4]], 9), 6)).toBeNull(); // count past the payload
    expect(decodeKept(table([1, 2], [[3, 4]]), 6)).toBeNull(); // gap past the kept bytes
    expect(decodeKept(table([1, 2], [[1, 4], [1, 4]]), 10)).toBeNull(); // not ascending
    expect(decodeKept(table([1, 2], [[1, 0]]), 2)).toBeNull(); // empty gap
    expect(decodeKept(table([1, 2], [[1, 4]]), 5)).toBeNull(); // more than the call moved
    expect(decodeKept(table([], [], 200), 0)).toBeNull(); // more entries than a record holds
  });

  it('decodeEvents: a record with WEFT_FLAG_H2_WALK gives the kept bytes and gaps, and a plain prefix before the first gap; a bad table gives no bytes', () => {
    const record = (payload: Buffer, total: number): Buffer => {
      const r = Buffer.alloc(EVENT_HEADER_SIZE + payload.length);
      r[O.kind] = WEFT_KIND_DATA;
      r[O.flags] = WEFT_FLAG_H2_WALK;
      r.writeBigInt64LE(BigInt(total), O.bytes);
      r.writeUInt32LE(payload.length, O.payloadLen);
      payload.copy(r, EVENT_HEADER_SIZE);
      const entry = Buffer.alloc((4 + r.length + 7) & ~7);
      entry.writeUInt32LE(r.length, 0);
      r.copy(entry, 4);
      return entry;
    };
    const good = record(table([1, 2, 3, 4], [[2, 100]]), 104);
    const bad = record(table([1, 2, 3, 4], [[9, 100]]), 104);
    const [a, b] = decodeEvents(Buffer.concat([good, bad]), good.length + bad.length, { offsetNs: 0n }) as SyscallEvent[];
    expect([...a!.payload]).toEqual([1, 2]);
    expect(a!.kept && [...a!.kept.data]).toEqual([1, 2, 3, 4]);
    expect(a!.kept?.gaps).toEqual([{ at: 2, len: 100 }]);
    expect(a!.totalBytes).toBe(104);
    expect(b!.payload.length).toBe(0);
    expect(b!.kept).toBeUndefined();
  });

  it('never throws, and what it accepts stays inside the payload and the byte count', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(1000), (bytes, total) => {
        const k = decodeKept(Buffer.from(bytes), total);
        if (!k) return;
        expect(k.data.length + 8 * k.gaps.length + 4).toBe(bytes.length);
        expect(k.data.length + k.gaps.reduce((a, g) => a + g.len, 0)).toBeLessThanOrEqual(total);
      }),
    );
  });
});
