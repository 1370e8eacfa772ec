/**
 * @module The walk, assembly and columns answer give exactly what they gave before the cold-open
 * rework (issue 11, round 5: spans of equal content interned instead of keyed by a JSON text,
 * link keys kept as ids, rule 01 without a BigInt per comparison, trace rows read without row
 * arrays). The digests below were recorded with the code of commit 714a380, before any of it:
 * for recorded real demo traces, the UI bench's generated 2k-span trace and seeded random spans
 * made to collide (few tcp seqs, hosts and span ids, starts on a coarse grid so many tie, exact
 * duplicates, hot keys, syscall candidates), the spans the walk finds, its warnings and hot keys,
 * and the whole columns answer (tree, link reasons, possible parents, clock offsets, warnings)
 * must hash the same. A change to assembly that changes any answer fails here; if it is meant,
 * the digests are recorded again and the change says why.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../bench/prng.js';
import { generatedSpanRecords } from '../../../bench/ui.js';
import { DEMO_TRACE_IDS, demoSpans } from '../../../test/fixtures/recorded-spans.js';
import { LINK_CANDIDATES_ATTR, emptySpan, type ObservationPoint, type SpanRecord } from '../../model/index.js';
import { traceColumnsOf } from '../query/trace-columns.js';
import { createMemoryStore } from '../store/index.js';
import { assemble } from './assemble.js';
import { collectTraceSpans } from './collect.js';
import { canonicalKey } from './span-identity.js';

const T0 = 1_796_000_000_000_000_000n;

/** Seeded spans that collide on purpose: every shortcut of the walk and the rules meets a tie. */
function collidingSpans(seed: number, n: number): SpanRecord[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const traces = ['a'.repeat(32), 'b'.repeat(32), ''];
  const ids = Array.from({ length: 40 }, (_, i) => (i + 1).toString(16).padStart(16, '0'));
  const hosts = ['h1', 'h2', 'h3', ''];
  const ops: Record<SpanRecord['source'], ObservationPoint[]> = { app: ['c-app', 's-app'], sys: ['c-p', 's-p'], net: ['c', 's', 'c-nd', 's-nd'] };
  const out: SpanRecord[] = [];
  for (let i = 0; i < n; i++) {
    if (out.length > 0 && r() < 0.05) {
      // An exact duplicate, as a re-sent batch stores it (another object, same content).
      out.push({ ...(out[Math.floor(r() * out.length)] as SpanRecord) });
      continue;
    }
    const source = pick(['app', 'sys', 'sys', 'net'] as const);
    const start = T0 + BigInt(Math.floor(r() * 12)) * 10_000_000n;
    const seq = source === 'app' ? 0 : 1000 + Math.floor(r() * 25);
    const s: SpanRecord = {
      ...emptySpan({ source, origin: source === 'app' ? 'otlp' : source === 'sys' ? 'ebpf' : 'packet', observationPoint: pick(ops[source]) }),
      traceId: pick(traces),
      spanId: r() < 0.9 ? pick(ids) : '',
      parentSpanId: r() < 0.7 ? pick(ids) : '',
      name: pick(['GET /a', 'GET /b', 'SET k']),
      service: pick(['front', 'back', 'db', '']),
      startTimeUnixNano: start,
      endTimeUnixNano: start + BigInt(Math.floor(r() * 12)) * 10_000_000n,
      protocol: source === 'app' ? '' : pick(['http', 'redis']),
      requestType: pick(['GET', 'SET', '']),
      requestResource: pick(['/a', '/b', '']),
      responseCode: r() < 0.5 ? null : pick([200, 500]),
      hostId: pick(hosts),
      processId: pick([0, 10, 11]),
      transport: source === 'app' ? '' : 'tcp',
      clientIp: source === 'app' ? '' : pick(['10.0.0.1', '10.0.0.2']),
      serverIp: source === 'app' ? '' : pick(['10.0.0.9', '10.0.0.8']),
      clientPort: source === 'app' ? 0 : pick([40000, 40001]),
      serverPort: source === 'app' ? 0 : 80,
      reqTcpSeq: seq,
      respTcpSeq: seq === 0 ? 0 : seq + pick([1, 2]),
      syscallTraceIdReq: source === 'sys' ? pick([0, 7, 8, 9]) : 0,
      syscallTraceIdResp: source === 'sys' ? pick([0, 7, 8]) : 0,
      threadIdReq: source === 'sys' ? pick([0, 100, 101]) : 0,
      xRequestIdReq: r() < 0.2 ? pick(['x1', 'x2']) : '',
      attributes: source === 'sys' && r() < 0.1 ? { [LINK_CANDIDATES_ATTR]: '7,8' } : {},
    };
    out.push(s);
  }
  return out;
}

/** The walk from `traceId` over `spans` in a memory store, its assembly and columns answer, hashed. */
async function digest(spans: SpanRecord[], traceId: string, maxPerKey: number): Promise<{ walk: string; answer: string; spans: number }> {
  const store = createMemoryStore();
  await store.write(spans);
  const got = await collectTraceSpans(store, { traceId }, { maxSpans: 20_000, maxPerKey });
  await store.close();
  const sha = (x: string): string => createHash('sha256').update(x).digest('hex').slice(0, 16);
  const walk = sha(JSON.stringify([got.spans.map(canonicalKey).sort(), got.warnings, got.hotKeys]));
  const trace = assemble(got.spans, { traceId, hotKeys: new Set(got.hotKeys) });
  return { walk, answer: sha(JSON.stringify(traceColumnsOf(trace, false))), spans: trace.nodes.length };
}

/** Recorded with commit 714a380 (before the rework), by this file's own `digest`. */
const RECORDED: Record<string, { walk: string; answer: string; spans: number }> = {
  'demo 0': { walk: '7a8b0e5da89d1901', answer: '817b64f57e11e177', spans: 26 },
  'demo 1': { walk: 'b91f421b373c575c', answer: '8bbc3f703d5b9f61', spans: 26 },
  'demo 2': { walk: '03485111e5b2d51d', answer: '99d813404bf75456', spans: 26 },
  'generated 2k': { walk: 'f97e345481eb8c65', answer: '75dd79e93b195766', spans: 2000 },
  'colliding 1': { walk: '9292efdae7eb5bfc', answer: '87eb24e39fc9d0f9', spans: 380 },
  'colliding 2': { walk: 'db9d6bb8428e3240', answer: '829340b513026571', spans: 164 },
  'colliding 3': { walk: '186d71a79639092c', answer: '7eae9329430824c8', spans: 364 },
  'colliding 4': { walk: '256d3d6e8958ef81', answer: '57fc1cb286181d9a', spans: 194 },
};

describe('walk + assembly + columns: the same answers as before the cold-open rework', () => {
  const cases: [string, () => SpanRecord[], string, number][] = [
    ...DEMO_TRACE_IDS.map((id, k): [string, () => SpanRecord[], string, number] => [`demo ${k}`, demoSpans, id, 64]),
    ['generated 2k', () => generatedSpanRecords(2000, T0), (0x7d0 + 0xabc).toString(16).padStart(32, '0'), 64],
    ...[1, 2, 3, 4].map((seed): [string, () => SpanRecord[], string, number] => [`colliding ${seed}`, () => collidingSpans(seed, 600), 'a'.repeat(32), seed % 2 === 0 ? 4 : 64]),
  ];
  for (const [name, spans, traceId, maxPerKey] of cases) {
    it(name, async () => {
      const got = await digest(spans(), traceId, maxPerKey);
      if (process.env.WEFT_PRINT_DIGESTS) console.log(`DIGEST ${JSON.stringify(name)}: ${JSON.stringify(got)},`);
      expect(got.spans).toBeGreaterThan(1);
      expect(got).toEqual(RECORDED[name]);
    });
  }
});
