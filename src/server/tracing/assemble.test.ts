import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../model/index.js';
import { createMemoryStore } from '../store/index.js';
import { assemble, linkSpans } from './assemble.js';
import { DEFAULT_TOLERANCES } from './link-rules.js';
import { LINK_RULES } from './rules/index.js';
import { collectTraceSpans } from './collect.js';
import { SCENARIOS, keepAlive } from './testdata/scenarios.js';
import type { AssembledTrace } from './trace.js';

const dir = new URL('./testdata/', import.meta.url);
const update = process.env['UPDATE_GOLDEN'] === '1';

function toJson(spans: SpanRecord[]): string {
  return JSON.stringify(spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';
}

function fromJson(text: string): SpanRecord[] {
  const raw = JSON.parse(text) as Array<Record<string, unknown>>;
  return raw.map((r) => ({ ...r, startTimeUnixNano: BigInt(r['startTimeUnixNano'] as string), endTimeUnixNano: BigInt(r['endTimeUnixNano'] as string) }) as unknown as SpanRecord);
}

function loadSpans(name: string): SpanRecord[] {
  const file = new URL(`${name}.spans.json`, dir);
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(name);
  if (update) writeFileSync(file, toJson(scenario.build()));
  // A missing fixture fails like a missing golden: only UPDATE_GOLDEN=1 writes them.
  if (!existsSync(file)) throw new Error(`${file.pathname} is missing: record it with UPDATE_GOLDEN=1 and review it`);
  return fromJson(readFileSync(file, 'utf8'));
}

/** The tree, as names: what a reviewer reads in the golden file. */
function shape(t: AssembledTrace): unknown {
  const name = new Map(t.nodes.map((n) => [n.id, n.span.name]));
  return {
    nodes: t.nodes.map((n) => ({
      name: n.span.name,
      parent: n.parentId === null ? null : name.get(n.parentId),
      linkReason: n.linkReason,
      confidence: n.confidence,
      clockOffsetNano: n.clockOffsetNano.toString(),
      ...(n.possibleParents.length > 0 ? { possibleParents: n.possibleParents.map((p) => `${p.name || p.spanId} (${p.reason}, ${p.id === null ? 'not in this trace' : 'in this trace'}): ${p.why}`) } : {}),
    })),
    warnings: t.warnings,
  };
}

function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('assemble: golden trees', () => {
  for (const [name, sc] of Object.entries(SCENARIOS)) {
    it(name, () => {
      const spans = loadSpans(name);
      const opts = { ...(sc.traceId ? { traceId: sc.traceId } : {}), ...(sc.seedSpanId ? { seedSpanId: sc.seedSpanId } : {}) };
      const got = shape(assemble(spans, opts));
      const file = new URL(`${name}.golden.json`, dir);
      if (update) writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
      if (!existsSync(file)) throw new Error(`${file.pathname} is missing: record it with UPDATE_GOLDEN=1 and review it`);
      expect(got).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});

describe('assemble: the rule list', () => {
  it('every rule links or names a possible parent in at least one golden scenario', () => {
    const spoke = new Set<string>();
    for (const name of Object.keys(SCENARIOS)) for (const r of linkSpans(loadSpans(name), DEFAULT_TOLERANCES, new Set()).rulesThatSpoke) spoke.add(r);
    expect(LINK_RULES.map((r) => r.name).filter((r) => !spoke.has(r))).toEqual([]);
  });

  it('rule names are unique and in file order', () => {
    const names = LINK_RULES.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(names);
  });
});

describe('assemble: the rules the demo topology needs', () => {
  const t = assemble(loadSpans('full-stack'), { traceId: SCENARIOS['full-stack']?.traceId ?? '' });
  const byName = new Map(t.nodes.map((n) => [n.span.name, n]));
  const parentName = (child: string): string | undefined => {
    const p = byName.get(child)?.parentId;
    return t.nodes.find((n) => n.id === p)?.span.name;
  };
  it.each([
    ['nginx s-p', 'h2 eth0', 'tcp_seq'],
    ['h2 eth0', 'h1 eth0', 'tcp_seq'],
    ['h1 eth0', 'curl c-p', 'tcp_seq'],
    ['nginx c-p', 'nginx s-p', 'syscall'],
    ['frontend s-p', 'nginx c-p', 'tcp_seq'],
    ['GET /', 'frontend s-p', 'span_id'],
    ['GET backend', 'GET /', 'span_id'],
    ['frontend c-p', 'GET backend', 'span_id'],
    ['backend s-p', 'h3 eth0', 'tcp_seq'],
    ['redis GET', 'backend s-p', 'syscall'],
    ['mysql SELECT', 'backend s-p', 'syscall'],
    ['dns A', 'backend s-p', 'syscall'],
  ])('%s under %s by %s', (child, parent, reason) => {
    expect(parentName(child)).toBe(parent);
    expect(byName.get(child)?.linkReason).toBe(reason);
  });
  it('places every span once with one root', () => {
    expect(t.nodes).toHaveLength(14);
    expect(t.nodes.filter((n) => n.parentId === null).map((n) => n.span.name)).toEqual(['curl c-p']);
  });
});

describe('assemble: keep-alive and concurrency', () => {
  it('gives one trace per request through the bounded walk, never a merged one', async () => {
    const store = createMemoryStore();
    await store.write(keepAlive());
    for (let r = 0; r < 8; r++) {
      const seed = `c${String(r).padStart(15, '0')}`;
      const got = await collectTraceSpans(store, { spanId: seed }, { maxSpans: 1000, maxPerKey: 16 });
      const t = assemble(got.spans, { seedSpanId: seed, hotKeys: new Set(got.hotKeys) });
      expect(t.nodes.map((n) => n.span.name).sort()).toEqual([`client req ${r}`, `redis for ${r}`, `server req ${r}`]);
      expect(t.nodes.filter((n) => n.parentId === null)).toHaveLength(1);
    }
    await store.close();
  });

  it('caps a hot key and warns', async () => {
    const store = createMemoryStore();
    const spans = keepAlive().map((s) => ({ ...s, xRequestIdReq: 'same-everywhere' }));
    await store.write(spans);
    const got = await collectTraceSpans(store, { spanId: 'c000000000000000' }, { maxSpans: 1000, maxPerKey: 4, windowSlackNano: 1_000_000_000n });
    expect(got.hotKeys).toContain('x_request_id\u0000same-everywhere');
    expect(got.warnings.some((w) => w.includes('same-everywhere'))).toBe(true);
    const t = assemble(got.spans, { seedSpanId: 'c000000000000000', hotKeys: new Set(got.hotKeys) });
    expect(t.nodes.filter((n) => n.span.observationPoint === 's-p')).toHaveLength(1);
    await store.close();
  });
});

describe('assemble: properties', () => {
  const all = Object.entries(SCENARIOS).map(([name, sc]) => ({ name, sc, spans: loadSpans(name) }));
  it('any input order gives the same tree; no cycles; each span once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: all.length - 1 }), fc.integer({ min: 1, max: 2 ** 30 }), fc.boolean(), (k, seed, dup) => {
        const { sc, spans } = all[k] as (typeof all)[number];
        const opts = { ...(sc.traceId ? { traceId: sc.traceId } : {}), ...(sc.seedSpanId ? { seedSpanId: sc.seedSpanId } : {}) };
        const a = assemble(spans, opts);
        const input = shuffle(dup ? [...spans, ...spans.map((s) => ({ ...s }))] : spans, seed);
        const b = assemble(input, opts);
        expect(shape(b)).toEqual(shape(a));
        expect(b.nodes.map((n) => n.id)).toEqual(a.nodes.map((n) => n.id));
        const ids = new Set(b.nodes.map((n) => n.id));
        expect(ids.size).toBe(b.nodes.length);
        const parent = new Map(b.nodes.map((n) => [n.id, n.parentId]));
        for (const n of b.nodes) {
          let steps = 0;
          for (let p = n.parentId; p !== null; p = parent.get(p) ?? null) {
            expect(ids.has(p)).toBe(true);
            expect(++steps).toBeLessThanOrEqual(b.nodes.length);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('random span soups never make cycles or lose spans', () => {
    const arbSpan = fc.record({
      i: fc.integer({ min: 0, max: 5 }),
      p: fc.integer({ min: 0, max: 5 }),
      op: fc.constantFrom('c-p', 's-p', 'c', 's', 'c-app', 's-app', 'app'),
      seq: fc.integer({ min: 0, max: 3 }),
      sys: fc.integer({ min: 0, max: 3 }),
      start: fc.integer({ min: 0, max: 100 }),
      len: fc.integer({ min: 0, max: 100 }),
      host: fc.constantFrom('h1', 'h2'),
    });
    fc.assert(
      fc.property(fc.array(arbSpan, { maxLength: 25 }), (parts) => {
        const spans = parts.map((q, k) => {
          const base = keepAlive()[0] as SpanRecord;
          const op = q.op as SpanRecord['observationPoint'];
          return {
            ...base,
            name: `s${k}`,
            observationPoint: op,
            source: op.endsWith('app') ? 'app' : op.endsWith('p') ? 'sys' : 'net',
            spanId: `id${q.i}`,
            parentSpanId: q.p === q.i ? '' : `id${q.p}`,
            reqTcpSeq: q.seq,
            respTcpSeq: q.seq,
            syscallTraceIdReq: q.sys,
            syscallTraceIdResp: q.sys,
            hostId: q.host,
            startTimeUnixNano: BigInt(q.start) * 1_000_000n,
            endTimeUnixNano: BigInt(q.start + q.len) * 1_000_000n,
          } as SpanRecord;
        });
        const t = assemble(spans);
        const ids = new Set(t.nodes.map((n) => n.id));
        expect(ids.size).toBe(t.nodes.length);
        const parent = new Map(t.nodes.map((n) => [n.id, n.parentId]));
        for (const n of t.nodes) {
          let steps = 0;
          for (let p = n.parentId; p !== null; p = parent.get(p) ?? null) expect(++steps).toBeLessThanOrEqual(t.nodes.length);
        }
        const kept = t.nodes.length + Number(/pruned (\d+)/.exec(t.warnings.join(' '))?.[1] ?? 0);
        expect(kept).toBeLessThanOrEqual(spans.length);
      }),
      { numRuns: 200 },
    );
  });
});
