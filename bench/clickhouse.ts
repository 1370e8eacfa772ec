/**
 * @module `npm run bench -- clickhouse`: the ClickHouse store next to DuckDB, in one run, on the
 * same spans: acknowledged write rate, bytes per SYS span on disk, the link-key side table's
 * lookup latency against a plain scan (what `span_keys` buys), and the trace walk + assembly of a
 * 40-span full-stack trace among the stored spans.
 *
 * Env: WEFT_BENCH_CH_SPANS (background SYS spans, default 1,000,000), WEFT_BENCH_CH_BATCH (spans
 * per write, default 50,000: the server's --max-batch-spans), WEFT_BENCH_CH_RUNS (assembly runs,
 * default 50), WEFT_BENCH_CH_SKIP_DUCKDB=1 (ClickHouse only, for sizes DuckDB takes too long to
 * build here; its numbers are then left out, not guessed), WEFT_BENCH_CH_ZSTD=0 (skip the zstd-parts
 * size run).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpanRecord } from '../src/model/index.js';
import { openClickHouseStore } from '../src/server/store/clickhouse/clickhouse-store.js';
import type { ClickHouseStore } from '../src/server/store/clickhouse/clickhouse-store.js';
import { linkKeyCondition } from '../src/server/store/clickhouse/query-conditions.js';
import { SELECT_COLUMNS } from '../src/server/store/clickhouse/span-columns.js';
import { clickHouseVersion, startClickHouse } from '../src/server/store/clickhouse/testing/clickhouse-process.js';
import type { ClickHouseProcess } from '../src/server/store/clickhouse/testing/clickhouse-process.js';
import { openDuckDbStore } from '../src/server/store/index.js';
import type { Store } from '../src/server/store/index.js';
import { assemble } from '../src/server/tracing/assemble.js';
import { collectTraceSpans } from '../src/server/tracing/collect.js';
import { syntheticTrace } from './assembly.js';
import { rng, sysSpans } from './sys-spans.js';

interface StoreNumbers {
  store: string;
  writeSpansPerSec: number;
  bytesPerSpan: number;
  /** ClickHouse: bytes of each table per span. */
  tableBytesPerSpan?: Record<string, number>;
  assembly: { p50Ms: number; p99Ms: number; runs: number; foundSpans: number };
}

export interface ClickHouseBenchResult {
  clickhouseVersion: string;
  storedSpans: number;
  batchSpans: number;
  stores: StoreNumbers[];
  /** ClickHouse write rate / DuckDB write rate, same spans, same batches. */
  writeRatio?: number;
  /** One-key lookups on ClickHouse by each path, against the scan it replaces. */
  keyLookup: { via: string; p50Ms: number; p99Ms: number }[];
  /** The same spans on a server with zstd part compression (server-wide setting). */
  zstdBytesPerSpan?: number;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const T0 = 1_700_000_000_000_000_000n;
const GAP = 1_000_000n; // 1k spans per simulated second
const TRACES = 100;

/** The stored data, batch by batch: background SYS spans, then 100 full-stack 40-span traces. */
function* batches(total: number, batch: number): Generator<SpanRecord[]> {
  for (let from = 0; from < total; from += batch) yield sysSpans(from, Math.min(batch, total - from), T0, GAP);
  const traces: SpanRecord[] = [];
  for (let k = 0; k < TRACES; k++) traces.push(...syntheticTrace(k, 40, T0 + (BigInt(total) * GAP * BigInt(k)) / BigInt(TRACES)));
  yield traces;
}

/** Spans as written, a few from every batch: what the lookups look for. */
const SAMPLES_PER_BATCH = 3;

async function fill(store: Store, total: number, batch: number, log: (l: string) => void, samples?: SpanRecord[]): Promise<number> {
  let ms = 0;
  let n = 0;
  let i = 0;
  for (const spans of batches(total, batch)) {
    if (samples && spans[0]?.source === 'sys' && n < total) {
      for (let k = 0; k < SAMPLES_PER_BATCH; k++) samples.push({ ...(spans[Math.floor(((k + 0.5) * spans.length) / SAMPLES_PER_BATCH)] as SpanRecord) });
    }
    const t = performance.now();
    await store.write(spans);
    ms += performance.now() - t;
    n += spans.length;
    if (i++ % 20 === 0) log(`  ${store.kind}: wrote ${n} spans`);
  }
  return n / (ms / 1000);
}

async function timeAssembly(store: Store, total: number, runs: number): Promise<StoreNumbers['assembly']> {
  const xs: number[] = [];
  let found = 0;
  for (let i = 0; i < runs + 5; i++) {
    const k = (i * 37) % TRACES;
    const spans = syntheticTrace(k, 40, T0 + (BigInt(total) * GAP * BigInt(k)) / BigInt(TRACES));
    const seed = { traceId: spans[0]?.traceId ?? '' };
    const t = performance.now();
    const got = await collectTraceSpans(store, seed, { maxSpans: 10_000, maxPerKey: 64 });
    const trace = assemble(got.spans, { ...seed, hotKeys: new Set(got.hotKeys) });
    if (i >= 5) xs.push(performance.now() - t); // the first few warm caches and the JIT
    found = trace.nodes.length;
  }
  return { p50Ms: +percentile(xs, 50).toFixed(2), p99Ms: +percentile(xs, 99).toFixed(2), runs, foundSpans: found };
}

async function chBytesPerSpan(store: ClickHouseStore, spans: number): Promise<{ total: number; tables: Record<string, number> }> {
  // Settled size: parts merged (as they are after a while in production), duplicates folded.
  await store.optimize();
  const bytes = await store.diskBytes();
  const tables: Record<string, number> = {};
  for (const [t, b] of Object.entries(bytes)) tables[t] = +(b / spans).toFixed(1);
  return { total: +(Object.values(bytes).reduce((a, b) => a + b, 0) / spans).toFixed(1), tables };
}

/**
 * What each lookup path buys, on the same stored spans: a span id through the `span_keys` side
 * table against a scan of `spans`; a tcp seq inside a ±10 ms window (a primary-key range, as the
 * trace walk asks) against the same key with no window (a scan).
 */
async function keyLookups(store: ClickHouseStore, written: SpanRecord[], log: (l: string) => void): Promise<ClickHouseBenchResult['keyLookup']> {
  const r = rng(11);
  const samples = Array.from({ length: 30 }, () => written[r() % written.length] as SpanRecord);
  const paths: [string, (s: SpanRecord) => Promise<number>][] = [
    ['span id via span_keys side table', async (s) => (await store.findByLinkKeys([{ type: 'span', value: s.spanId }], { limit: 64 })).length],
    ['span id by scan of spans (no side table)', async (s) => (await store.select(`SELECT ${SELECT_COLUMNS} FROM ${store.names.database}.spans WHERE ${linkKeyCondition([{ type: 'span', value: s.spanId }]) ?? '0'} LIMIT 64`)).length],
    [
      'tcp seq in a ±10 ms window (primary-key range)',
      async (s) =>
        (await store.findByLinkKeys([{ type: 'tcp_seq', value: String(s.reqTcpSeq) }], { limit: 64, timeRange: { startUnixNano: s.startTimeUnixNano - 10_000_000n, endUnixNano: s.startTimeUnixNano + 10_000_000n } })).length,
    ],
    ['tcp seq with no window (scan)', async (s) => (await store.findByLinkKeys([{ type: 'tcp_seq', value: String(s.reqTcpSeq) }], { limit: 64 })).length],
  ];
  const out: ClickHouseBenchResult['keyLookup'] = [];
  for (const [via, run] of paths) {
    const xs: number[] = [];
    for (const s of samples) {
      const t = performance.now();
      const n = await run(s);
      xs.push(performance.now() - t);
      if (n < 1) log(`  warning: ${via}: span ${s.spanId} not found`);
    }
    out.push({ via, p50Ms: +percentile(xs, 50).toFixed(2), p99Ms: +percentile(xs, 99).toFixed(2) });
  }
  return out;
}

export async function runClickHouseBench(log: (line: string) => void = () => {}): Promise<ClickHouseBenchResult> {
  const total = Number(process.env['WEFT_BENCH_CH_SPANS'] ?? 1_000_000);
  const batch = Number(process.env['WEFT_BENCH_CH_BATCH'] ?? 50_000);
  const runs = Number(process.env['WEFT_BENCH_CH_RUNS'] ?? 50);
  const skipDuck = process.env['WEFT_BENCH_CH_SKIP_DUCKDB'] === '1';
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ch-'));
  const servers: ClickHouseProcess[] = [];
  const result: ClickHouseBenchResult = { clickhouseVersion: clickHouseVersion(), storedSpans: total + TRACES * 40, batchSpans: batch, stores: [], keyLookup: [] };
  try {
    const ch = await startClickHouse();
    servers.push(ch);
    const chStore = await openClickHouseStore({ url: `${ch.url}/bench` });
    let chNumbers: StoreNumbers;
    try {
      log(`ClickHouse ${result.clickhouseVersion}: writing ${result.storedSpans} spans in batches of ${batch}`);
      const written: SpanRecord[] = [];
      const rate = await fill(chStore, total, batch, log, written);
      const bytes = await chBytesPerSpan(chStore, result.storedSpans);
      log(`  clickhouse: ${Math.round(rate)} spans/s, ${bytes.total} bytes/span (${JSON.stringify(bytes.tables)})`);
      result.keyLookup = await keyLookups(chStore, written, log);
      for (const k of result.keyLookup) log(`  lookup, ${k.via}: p50 ${k.p50Ms} ms, p99 ${k.p99Ms} ms`);
      const assembly = await timeAssembly(chStore, total, runs);
      log(`  clickhouse: 40-span trace among ${result.storedSpans}: p50 ${assembly.p50Ms} ms, p99 ${assembly.p99Ms} ms (${assembly.foundSpans} spans)`);
      chNumbers = { store: 'clickhouse', writeSpansPerSec: Math.round(rate), bytesPerSpan: bytes.total, tableBytesPerSpan: bytes.tables, assembly };
      result.stores.push(chNumbers);
    } finally {
      await chStore.close();
      await ch.destroy();
    }

    if (!skipDuck) {
      const path = join(dir, 'bench.duckdb');
      const duck = await openDuckDbStore({ path });
      log(`DuckDB: writing the same ${result.storedSpans} spans`);
      const rate = await fill(duck, total, batch, log);
      const assembly = await timeAssembly(duck, total, runs);
      await duck.close(); // checkpoints the WAL into the file
      const bytesPerSpan = +(statSync(path).size / result.storedSpans).toFixed(1);
      log(`  duckdb: ${Math.round(rate)} spans/s, ${bytesPerSpan} bytes/span, assembly p50 ${assembly.p50Ms} ms, p99 ${assembly.p99Ms} ms`);
      result.stores.push({ store: 'duckdb', writeSpansPerSec: Math.round(rate), bytesPerSpan, assembly });
      result.writeRatio = +(chNumbers.writeSpansPerSec / Math.round(rate)).toFixed(2);
      log(`  write rate clickhouse / duckdb = ${result.writeRatio}`);
    }

    // The same data on a server that compresses parts with zstd (a server setting, not schema).
    if (process.env['WEFT_BENCH_CH_ZSTD'] === '0') return result;
    const zstdSpans = Math.min(total, 1_000_000);
    const chz = await startClickHouse({ compression: 'zstd' });
    servers.push(chz);
    const z = await openClickHouseStore({ url: `${chz.url}/bench` });
    try {
      await fill(z, zstdSpans, batch, () => {});
      result.zstdBytesPerSpan = (await chBytesPerSpan(z, zstdSpans + TRACES * 40)).total;
      log(`  clickhouse with zstd parts (${zstdSpans} spans): ${result.zstdBytesPerSpan} bytes/span`);
    } finally {
      await z.close();
      await chz.destroy();
    }
  } finally {
    for (const s of servers) await s.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
