/**
 * @module The bounded walk's shortcuts change how often it reaches the store, never what it
 * finds: with the window cache on, off, or turned off by a dense window, every scenario and a
 * full-stack trace among background traffic give the same spans and the same tree.
 */
import { describe, expect, it } from 'vitest';
import { syntheticTrace } from '../../../bench/assembly.js';
import { sysSpans } from '../../../bench/sys-spans.js';
import { emptySpan, type SpanRecord } from '../../model/index.js';
import { createMemoryStore } from '../store/index.js';
import type { SpanReader } from '../store/index.js';
import { assemble } from './assemble.js';
import { collectTraceSpans } from './collect.js';
import type { CollectLimits, CollectSeed } from './collect.js';
import { canonicalKey } from './span-identity.js';
import { SCENARIOS } from './testdata/scenarios.js';

interface Counted {
  reader: SpanReader;
  calls: Record<'getTrace' | 'findByLinkKeys' | 'findInTimeRange', number>;
}

/** The reader with its lookups counted. */
function counted(reader: SpanReader): Counted {
  const calls = { getTrace: 0, findByLinkKeys: 0, findInTimeRange: 0 };
  const wrapped = Object.create(reader) as SpanReader;
  wrapped.getTrace = (...a) => (calls.getTrace++, reader.getTrace(...a));
  wrapped.findByLinkKeys = (...a) => (calls.findByLinkKeys++, reader.findByLinkKeys(...a));
  wrapped.findInTimeRange = (...a) => (calls.findInTimeRange++, reader.findInTimeRange(...a));
  return { reader: wrapped, calls };
}

async function walk(reader: SpanReader, seed: CollectSeed, limits: Partial<CollectLimits>): Promise<{ keys: string[]; tree: unknown; warnings: string[] }> {
  const got = await collectTraceSpans(reader, seed, { maxSpans: 10_000, maxPerKey: 64, ...limits });
  const t = assemble(got.spans, { ...seed, ...(seed.spanId ? { seedSpanId: seed.spanId } : {}), hotKeys: new Set(got.hotKeys) });
  const name = new Map(t.nodes.map((n) => [n.id, n.span.name]));
  return {
    keys: got.spans.map(canonicalKey).sort(),
    tree: t.nodes.map((n) => [n.span.name, n.parentId === null ? null : name.get(n.parentId), n.linkReason]).sort(),
    warnings: got.warnings,
  };
}

describe('collectTraceSpans: the window cache', () => {
  it('finds the same spans with the cache on, off and too small, for every scenario', async () => {
    for (const [name, sc] of Object.entries(SCENARIOS)) {
      const store = createMemoryStore();
      await store.write(sc.build());
      const seed: CollectSeed = sc.traceId ? { traceId: sc.traceId } : { spanId: sc.seedSpanId ?? '' };
      const off = await walk(store, seed, { windowSpans: 0 });
      expect(off.keys.length, name).toBeGreaterThan(0);
      for (const windowSpans of [4096, 3]) {
        const on = await walk(store, seed, { windowSpans });
        expect(on.keys, `${name}, windowSpans ${windowSpans}`).toEqual(off.keys);
        expect(on.tree, `${name}, windowSpans ${windowSpans}`).toEqual(off.tree);
      }
      await store.close();
    }
  });

  it('walks a 40-span full-stack trace among background traffic in a few store reads', async () => {
    const t0 = 1_700_000_000_000_000_000n;
    const store = createMemoryStore();
    const background = 20_000;
    await store.write(sysSpans(0, background, t0, 100_000n)); // 10k background spans per second
    const traces: SpanRecord[][] = [];
    for (let k = 0; k < 5; k++) traces.push(syntheticTrace(k, 40, t0 + BigInt(k) * 300_000_000n));
    for (const t of traces) await store.write(t);
    for (const [k, spans] of traces.entries()) {
      for (const seed of [{ traceId: spans[0]?.traceId ?? '' }, { spanId: spans[11]?.spanId ?? '' }]) {
        const off = await walk(store, seed, { windowSpans: 0 });
        const c = counted(store);
        const on = await walk(c.reader, seed, {});
        expect(on.keys).toEqual(off.keys);
        expect(on.tree).toEqual(off.tree);
        // Background spans may share a tcp seq with the trace (both walks keep the same ones).
        expect(on.keys).toEqual(expect.arrayContaining(spans.map(canonicalKey)));
        expect(on.warnings, `trace ${k}`).toEqual([]);
        // By trace id: one getTrace and the window, no index lookups. By an uninstrumented
        // span's id: its own lookup, its span-id keys, and the window grown once or twice.
        const reads = c.calls.getTrace + c.calls.findByLinkKeys + c.calls.findInTimeRange;
        if (seed.traceId) expect(c.calls).toEqual({ getTrace: 1, findByLinkKeys: 0, findInTimeRange: 1 });
        else expect(reads).toBeLessThanOrEqual(8);
      }
    }
    await store.close();
  });
});

describe('collectTraceSpans: held traces left out of index lookups', () => {
  it('finds the same spans, tree and warnings as the window cache (every span in memory), hot keys included', async () => {
    const t0 = 1_700_000_000_000_000_000n;
    const store = createMemoryStore();
    await store.write(sysSpans(0, 5_000, t0, 100_000n));
    const traces: SpanRecord[][] = [];
    for (let k = 0; k < 3; k++) traces.push(syntheticTrace(k, 60, t0 + BigInt(k) * 100_000_000n));
    for (const t of traces) await store.write(t);
    for (const [name, sc] of Object.entries(SCENARIOS)) await store.write(sc.build().map((s) => ({ ...s, hostId: `${s.hostId}-${name}` })));
    const seeds: CollectSeed[] = [...traces.map((t) => ({ traceId: t[0]?.traceId ?? '' })), { spanId: traces[1]?.[11]?.spanId ?? '' }];
    for (const sc of Object.values(SCENARIOS)) if (sc.traceId) seeds.push({ traceId: sc.traceId });
    for (const seed of seeds) {
      // maxPerKey 2: keys shared by a few spans of the trace become hot, counted with the held ones.
      for (const maxPerKey of [64, 2]) {
        // The window cache answers each key with every span around the trace, held ones included.
        const plain = await walk(store, seed, { windowSpans: 1_000_000, maxPerKey });
        const lean = await walk(store, seed, { windowSpans: 0, maxPerKey });
        const what = `${JSON.stringify(seed)}, maxPerKey ${maxPerKey}`;
        expect(lean.keys.length, what).toBeGreaterThan(0);
        expect(lean.keys, what).toEqual(plain.keys);
        expect(lean.tree, what).toEqual(plain.tree);
        expect(lean.warnings, what).toEqual(plain.warnings);
      }
    }
    // And the lookups of a trace read whole return none of its spans again.
    const returned: SpanRecord[] = [];
    const spy = Object.create(store) as SpanReader;
    spy.findByLinkKeys = async (keys, options) => {
      const got = await store.findByLinkKeys(keys, options);
      returned.push(...got);
      return got;
    };
    const traceId = traces[0]?.[0]?.traceId ?? '';
    await collectTraceSpans(spy, { traceId }, { maxSpans: 10_000, maxPerKey: 64, windowSpans: 0 });
    expect(returned.filter((s) => s.traceId === traceId)).toEqual([]);
    await store.close();
  });
});

describe('collectTraceSpans: ambiguous calls', () => {
  it('reads the requests an ambiguous call names, so the trace shows them as possible parents, and walks on from none of them', async () => {
    const store = createMemoryStore();
    const spans = SCENARIOS['event-loop']?.build() ?? [];
    await store.write(spans);
    const c = counted(store);
    const seed = { spanId: 'evl0000000000003' };
    const got = await collectTraceSpans(c.reader, seed, { maxSpans: 1000, maxPerKey: 64 });
    // The call, its backend, and the two requests open on its thread when it started.
    expect(got.spans.map((s) => s.name).sort()).toEqual(['backend s-p', 'mid c-p ?', 'mid s-p A', 'mid s-p B']);
    const t = assemble(got.spans, { seedSpanId: seed.spanId });
    const call = t.nodes.find((n) => n.span.name === 'mid c-p ?');
    expect(call?.parentId).toBeNull();
    expect(call?.possibleParents.map((p) => [p.name, p.traceId, p.id])).toEqual([
      ['mid s-p A', 'aaaaaaaaaaaaaaaa0000000000000001', null],
      ['mid s-p B', 'bbbbbbbbbbbbbbbb0000000000000002', null],
    ]);
    // The requests' own traces are not pulled in.
    expect(t.nodes.map((n) => n.span.name).sort()).toEqual(['backend s-p', 'mid c-p ?']);
  });
});

describe('collectTraceSpans: syscall ids', () => {
  it('does not walk from one request to another that its server read in the same syscall (pipelined Redis commands)', async () => {
    const T0 = 1_700_000_000_000_000_000n;
    const sys = (name: string, op: 'c-p' | 's-p', at: number, p: Partial<SpanRecord>): SpanRecord => ({
      ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: op }),
      name,
      hostId: 'h1',
      transport: 'tcp',
      startTimeUnixNano: T0 + BigInt(at) * 1_000_000n,
      endTimeUnixNano: T0 + BigInt(at + 5) * 1_000_000n,
      ...p,
    });
    const runtime = { attributes: { 'weft.link.evidence': 'runtime' } };
    const TA = 'aaaaaaaaaaaaaaaa0000000000000001';
    const TB = 'bbbbbbbbbbbbbbbb0000000000000002';
    const spans = [
      sys('node s-p A', 's-p', 0, { processId: 800, spanId: 'a000000000000001', traceId: TA, parentSpanId: 'aaaa00000000000a', reqTcpSeq: 100, respTcpSeq: 200, syscallTraceIdReq: 81 }),
      sys('node c-p A', 'c-p', 1, { processId: 800, spanId: 'a000000000000002', reqTcpSeq: 300, respTcpSeq: 400, syscallTraceIdReq: 81, ...runtime }),
      sys('node s-p B', 's-p', 0, { processId: 800, spanId: 'b000000000000001', traceId: TB, parentSpanId: 'bbbb00000000000b', reqTcpSeq: 500, respTcpSeq: 600, syscallTraceIdReq: 82 }),
      sys('node c-p B', 'c-p', 1, { processId: 800, spanId: 'b000000000000002', reqTcpSeq: 700, respTcpSeq: 800, syscallTraceIdReq: 82, ...runtime }),
      // Redis read both commands in one read(): both requests carry that read's syscall id.
      sys('redis s-p A', 's-p', 1, { processId: 900, spanId: 'a000000000000003', reqTcpSeq: 300, respTcpSeq: 400, syscallTraceIdReq: 91 }),
      sys('redis s-p B', 's-p', 1, { processId: 900, spanId: 'b000000000000003', reqTcpSeq: 700, respTcpSeq: 800, syscallTraceIdReq: 91 }),
    ];
    const store = createMemoryStore();
    await store.write(spans);
    for (const windowSpans of [0, 4096]) {
      const got = await collectTraceSpans(store, { traceId: TA }, { maxSpans: 1000, maxPerKey: 64, windowSpans });
      expect(got.spans.map((s) => s.name).sort()).toEqual(['node c-p A', 'node s-p A', 'redis s-p A']);
      expect(got.warnings).toEqual([]);
    }
  });
});
