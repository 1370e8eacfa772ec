/**
 * @module Property tests for every parser: no input makes one throw; splitting a captured stream
 * anywhere gives the same spans as feeding it whole; stitching does not depend on how arrivals
 * are batched or (for id-matched DNS) on response order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../model/index.js';
import { stitchDns } from './dns/stitch.js';
import type { DnsFrame } from './dns/parse.js';
import { createExchangeStream } from './exchange-stream.js';
import type { AnyProtocolParser, Framed, ParseDirection } from './protocol.js';
import { readPcapFlows, type Flow } from './testing/pcap-flows.js';
import { protocolFolders } from './testing/protocol-folders.js';
import { connOf, replayFlows, spansToJson } from './testing/replay.js';

const HERE = dirname(fileURLToPath(import.meta.url));
// Every registered parser, wherever its folder is: a new protocol cannot go untested.
const FOLDERS: [string, AnyProtocolParser][] = (await protocolFolders()).folders.map((f) => [f.folder, f.parser]);

function flowsOf(folder: string, keep: (file: string) => boolean = () => true): Flow[] {
  const dir = join(HERE, folder, 'testdata');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pcap') && keep(f))
    .sort()
    .flatMap((f) => readPcapFlows(readFileSync(join(dir, f))));
}

/** Replays flows with every message cut at the given fractions, as separate syscalls would. */
function replaySplit(parser: AnyProtocolParser, flows: readonly Flow[], cuts: readonly number[], heads: readonly number[] = []): SpanRecord[] {
  const spans: SpanRecord[] = [];
  for (const flow of flows) {
    const stream = createExchangeStream<unknown>(parser, flow.transport);
    const conn = connOf(flow);
    for (const m of flow.messages) {
      const dir: ParseDirection = m.fromClient ? 'request' : 'response';
      // UDP datagrams cannot be split: each is whole by definition.
      // Cuts at fractions of the message, and at a few bytes from its start (inside the first
      // frame header or length field, where a parser must wait rather than give up).
      const points = flow.transport === 'udp' ? [] : [...new Set([...cuts.map((c) => Math.floor(c * m.bytes.length)), ...heads])].filter((p) => p > 0 && p < m.bytes.length).sort((a, b) => a - b);
      let start = 0;
      for (const p of [...points, m.bytes.length]) {
        const meta = { ...m.meta, tcpSeq: m.meta.tcpSeq === 0 ? 0 : (m.meta.tcpSeq + start) >>> 0 };
        for (const rec of stream.push(dir, m.bytes.subarray(start, p), start === 0 ? m.meta : meta, p === m.bytes.length)) spans.push(parser.toSpan(rec, conn));
        start = p;
      }
    }
    for (const rec of stream.drain()) spans.push(parser.toSpan(rec, conn));
  }
  return spans;
}

describe.each(FOLDERS)('%s parser properties', (folder, parser) => {
  it('never throws on random bytes, in either direction, whole or streamed', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), fc.boolean(), fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'), (chunks, end, transport) => {
        const state: unknown = parser.newState(transport);
        for (const c of chunks) {
          parser.detect(c, 'request');
          parser.detect(c, 'response');
          parser.parse(c, 'request', state, end);
          parser.parse(c, 'response', state, end);
        }
        const stream = createExchangeStream<unknown>(parser, transport);
        const conn = connOf({ transport, ipVersion: 4, clientIp: '127.0.0.1', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 80, messages: [], gaps: 0 });
        chunks.forEach((c, i) => {
          for (const r of stream.push(i % 2 === 0 ? 'request' : 'response', c, { startUnixNano: BigInt(i), endUnixNano: BigInt(i), tcpSeq: i, syscallTraceId: 0, tid: 0 }, end || i === chunks.length - 1)) parser.toSpan(r, conn);
        });
        for (const r of stream.drain()) parser.toSpan(r, conn);
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on mutated real traffic', () => {
    const msgs = flowsOf(folder).flatMap((f) => f.messages.map((m) => ({ m, transport: f.transport })));
    fc.assert(
      fc.property(fc.nat(msgs.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(), (i, flips, cut) => {
        const { m, transport } = msgs[i]!;
        const bytes = Buffer.from(m.bytes);
        for (const [pos, v] of flips) if (bytes.length > 0) bytes[pos % bytes.length] = v;
        const truncated = bytes.subarray(0, bytes.length === 0 ? 0 : cut % (bytes.length + 1));
        const state: unknown = parser.newState(transport);
        for (const b of [bytes, truncated]) {
          for (const end of [false, true]) {
            parser.parse(b, m.fromClient ? 'request' : 'response', state, end);
            parser.parse(b, m.fromClient ? 'response' : 'request', state, end);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  // A capture that starts mid-connection (at a segment boundary) is picked up at its first
  // frame, wherever the cuts fall (HTTP/2: a cut a few bytes into a frame header waits for the
  // rest instead of giving the message up), so it is held to equality above. One that starts
  // inside a frame has no boundary to pick up at but the next message's start, and a cut inside
  // its first message moves what is seen where: fewer spans may come out, never a wrong one.
  const midConnection = (file: string): boolean => file.includes('mid-connection');

  it('gives the same spans when each message is split at any points', () => {
    const flows = flowsOf(folder);
    const whole = spansToJson(replayFlows(parser, flows).spans);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 2 }), (cuts, heads) => {
        expect(spansToJson(replaySplit(parser, flows, cuts, heads))).toBe(whole);
      }),
      { numRuns: 60 },
    );
  });

  it('a capture starting inside a frame, split at any points, gives no span the whole capture lacks', () => {
    const flows = flowsOf(folder, midConnection);
    if (flows.length === 0) return;
    const whole = new Set(replayFlows(parser, flows).spans.map((x) => spansToJson([x])));
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), fc.nat({ max: 40 }), (cuts, skip) => {
        // The capture joins `skip` bytes into its first message (its seq moves with it).
        const late = flows.map((f, i) => {
          if (i > 0 || f.messages.length === 0) return f;
          const [first, ...rest] = f.messages;
          const k = Math.min(skip, first!.bytes.length - 1);
          const meta = { ...first!.meta, tcpSeq: first!.meta.tcpSeq === 0 ? 0 : (first!.meta.tcpSeq + k) >>> 0 };
          return { ...f, messages: [{ ...first!, bytes: first!.bytes.subarray(k), meta }, ...rest] };
        });
        for (const x of replaySplit(parser, late, cuts)) expect(whole.has(spansToJson([x]))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('stitches the same records whether responses arrive one by one or all at once', () => {
    for (const flow of flowsOf(folder)) {
      const conn = connOf(flow);
      const oneByOne = createExchangeStream<unknown>(parser, flow.transport);
      const spansA: SpanRecord[] = [];
      for (const m of flow.messages) {
        for (const r of oneByOne.push(m.fromClient ? 'request' : 'response', m.bytes, m.meta, true)) spansA.push(parser.toSpan(r, conn));
      }
      // The MySQL compressed protocol starts when the server accepts the login, so its requests
      // cannot be read before that answer: such a flow depends on interleaving by design.
      if (spansA.some((s) => s.attributes['weft.mysql.compressed'] === true)) continue;
      // All requests first, then all responses: pairing must not depend on interleaving.
      const batched = createExchangeStream<unknown>(parser, flow.transport);
      const spansB: SpanRecord[] = [];
      for (const m of flow.messages.filter((x) => x.fromClient)) batched.push('request', m.bytes, m.meta, true);
      for (const m of flow.messages.filter((x) => !x.fromClient)) {
        for (const r of batched.push('response', m.bytes, m.meta, true)) spansB.push(parser.toSpan(r, conn));
      }
      expect(spansToJson(spansB)).toBe(spansToJson(spansA));
    }
  });
});

describe('DNS stitching', () => {
  it('pairs by transaction id whatever order the answers come in, output in request order', () => {
    const frame = (id: number, isResponse: boolean): DnsFrame => ({ id, isResponse, opcode: 0, rcode: 0, qname: `n${id}.test`, qtype: 1, answerCount: 0 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 20 }), fc.func(fc.integer()), (ids, order) => {
        const meta = (t: number) => ({ startUnixNano: BigInt(t), endUnixNano: BigInt(t), tcpSeq: 0, syscallTraceId: 0, tid: 0 });
        const reqs: Framed<DnsFrame>[] = ids.map((id, i) => ({ frame: frame(id, false), meta: meta(i) }));
        const resps: Framed<DnsFrame>[] = ids.map((id, i) => ({ frame: frame(id, true), meta: meta(1000 + i) }));
        resps.sort((a, b) => order(a.frame.id) - order(b.frame.id));
        const { records, errors } = stitchDns(reqs, resps);
        expect(errors).toBe(0);
        expect(reqs).toHaveLength(0);
        expect(records.map((r) => r.request!.frame.id)).toEqual(ids);
        for (const r of records) expect(r.response!.frame.id).toBe(r.request!.frame.id);
      }),
    );
  });
});
