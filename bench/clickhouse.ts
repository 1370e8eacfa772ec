/**
 * @module `npm run bench -- clickhouse`: the ClickHouse store next to DuckDB, in one run, on the
 * same spans: acknowledged write rate, bytes per SYS span on disk, the link-key side table's
 * lookup latency against a plain scan (what `span_keys` buys), and the trace walk + assembly of a
 * 40-span full-stack trace among the stored spans (10M by default).
 *
 * How the store is filled: a sample of SYS spans (`WEFT_BENCH_CH_WRITE_SPANS`, default 200k) goes
 * through each store's `write` in the server's batch size, interleaved batch by batch so both
 * stores see the same machine load — that is the write-rate ratio. The 100 40-span traces go
 * through `write` too. The rest of the background is made inside each engine by
 * bench/clickhouse-fill.ts (the same rows in both, compared on samples read back through the
 * stores), because writing 10M spans through Weft takes an hour here. Assembly runs alternate
 * between the stores run by run.
 *
 * Env: WEFT_BENCH_CH_SPANS (stored background SYS spans, default 10,000,000),
 * WEFT_BENCH_CH_WRITE_SPANS (of those, written through `store.write`, default 200,000),
 * WEFT_BENCH_CH_BATCH (spans per write, default 50,000: the server's --max-batch-spans),
 * WEFT_BENCH_CH_RUNS (assembly runs per store, default 50), WEFT_BENCH_CH_ZSTD=0 (skip the
 * zstd-parts size run).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
import { GAP, T0, TRACES, backgroundSpanId, fillClickHouse, fillDuckDbChunk } from './clickhouse-fill.js';
import { rng, sysSpans } from './sys-spans.js';

interface StoreNumbers {
  store: string;
  /** Spans per second through `store.write`, acknowledged, on the written sample. */
  writeSpansPerSec: number;
  bytesPerSpan: number;
  /** ClickHouse: bytes of each table per span. */
  tableBytesPerSpan?: Record<string, number>;
  /** Seconds to make the background inside the engine (not a product path; for the record). */
  fillSeconds: number;
  assembly: { p50Ms: number; p99Ms: number; runs: number; foundSpans: number };
}

export interface ClickHouseBenchResult {
  clickhouseVersion: string;
  storedSpans: number;
  writtenSpans: number;
  batchSpans: number;
  loadAverage: { start: number; end: number };
  stores: StoreNumbers[];
  /** ClickHouse write rate / DuckDB write rate, same spans, same batches, interleaved. */
  writeRatio: number;
  /** ClickHouse assembly p50 / DuckDB's, runs interleaved. */
  assemblyP50Ratio: number;
  /** One-key lookups on ClickHouse by each path, against the scan it replaces. */
  keyLookup: { via: string; p50Ms: number; p99Ms: number }[];
  /** The same spans on a server with zstd part compression (server-wide setting). */
  zstdBytesPerSpan?: number;
  /** One ClickHouse walk from system.query_log. */
  walkProfile: WalkProfile;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

/** Trace k of the 100 40-span traces in a store of `rows` background positions. */
const traceAt = (k: number, rows: number): SpanRecord[] => syntheticTrace(k, 40, T0 + (BigInt(rows) * GAP * BigInt(k)) / BigInt(TRACES));

/** Spans as written, a few from every batch: what the lookups look for. */
const SAMPLES_PER_BATCH = 3;

/**
 * The written sample, batch by batch into both stores (order alternating), timed per store:
 * the write-rate ratio under the same load. Positions [from, rows) of the background.
 */
async function writeSample(stores: Store[], rows: number, from: number, batch: number, log: (l: string) => void, samples: SpanRecord[]): Promise<number[]> {
  const ms = stores.map(() => 0);
  let n = 0;
  for (let at = from, b = 0; at < rows; at += batch, b++) {
    const spans = sysSpans(at, Math.min(batch, rows - at), T0, GAP);
    for (let k = 0; k < SAMPLES_PER_BATCH; k++) samples.push({ ...(spans[Math.floor(((k + 0.5) * spans.length) / SAMPLES_PER_BATCH)] as SpanRecord) });
    for (let j = 0; j < stores.length; j++) {
      const x = (b + j) % stores.length;
      const t = performance.now();
      await (stores[x] as Store).write(spans);
      ms[x] = (ms[x] as number) + performance.now() - t;
    }
    n += spans.length;
    if (b % 5 === 0) log(`  wrote ${n}/${rows - from} sample spans to each store`);
  }
  return ms.map((m) => n / (m / 1000));
}

/** Walk + assembly of 40-span traces, runs alternating between the stores. */
async function timeAssembly(stores: Store[], rows: number, runs: number): Promise<StoreNumbers['assembly'][]> {
  const xs = stores.map((): number[] => []);
  const found = stores.map(() => 0);
  for (let i = 0; i < runs + 5; i++) {
    const k = (i * 37) % TRACES;
    const seed = { traceId: traceAt(k, rows)[0]?.traceId ?? '' };
    for (let j = 0; j < stores.length; j++) {
      const x = (i + j) % stores.length;
      const t = performance.now();
      const got = await collectTraceSpans(stores[x] as Store, seed, { maxSpans: 10_000, maxPerKey: 64 });
      const trace = assemble(got.spans, { ...seed, hotKeys: new Set(got.hotKeys) });
      if (i >= 5) xs[x]?.push(performance.now() - t); // the first few warm caches and the JIT
      found[x] = trace.nodes.length;
    }
  }
  return xs.map((v, x) => ({ p50Ms: +percentile(v, 50).toFixed(2), p99Ms: +percentile(v, 99).toFixed(2), runs, foundSpans: found[x] as number }));
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
  const samples = Array.from({ length: 20 }, () => written[r() % written.length] as SpanRecord);
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
    // A scan of 10M spans takes seconds; a few of them show the difference.
    for (const s of via.includes('scan') ? samples.slice(0, 4) : samples) {
      const t = performance.now();
      const n = await run(s);
      xs.push(performance.now() - t);
      if (n < 1) log(`  warning: ${via}: span ${s.spanId} not found`);
    }
    out.push({ via, p50Ms: +percentile(xs, 50).toFixed(2), p99Ms: +percentile(xs, 99).toFixed(2) });
  }
  return out;
}

export interface WalkProfile {
  queries: number;
  durationMs: number;
  readRows: number;
  readBytes: number;
  top: { ms: number; rows: number; bytes: number; query: string }[];
}

/** One walk of trace `k` on ClickHouse, profiled from system.query_log: what the store asks and reads. */
async function profileWalk(ch: ClickHouseStore, rows: number, k: number): Promise<WalkProfile> {
  // query_log times are whole seconds: start in a second of our own, after the timed walks.
  await new Promise((r) => setTimeout(r, 1100));
  const marker = `walk-profile-${Date.now()}`;
  await ch.select(`SELECT '${marker}'`, 'profile marker');
  const seed = { traceId: traceAt(k, rows)[0]?.traceId ?? '' };
  await collectTraceSpans(ch, seed, { maxSpans: 10_000, maxPerKey: 64 });
  await ch.command('SYSTEM FLUSH LOGS', 'flush logs');
  const got = await ch.select(
    `SELECT query_duration_ms, read_rows, read_bytes, substring(replaceOne(query, '${SELECT_COLUMNS}', '<cols>'), 1, 300) FROM system.query_log
     WHERE type = 2 AND event_date >= yesterday() AND query_start_time >= (SELECT max(query_start_time) FROM system.query_log WHERE query LIKE '%${marker}%')
       AND query NOT LIKE '%${marker}%' AND query NOT LIKE '%query_log%' AND query NOT LIKE 'SYSTEM%'
     ORDER BY query_duration_ms DESC`,
    'query log',
  );
  const top = got.map(([ms, r, b, q]) => ({ ms: Number(ms), rows: Number(r), bytes: Number(b), query: String(q).replace(/\s+/g, ' ') }));
  return {
    queries: top.length,
    durationMs: top.reduce((a, x) => a + x.ms, 0),
    readRows: top.reduce((a, x) => a + x.rows, 0),
    readBytes: top.reduce((a, x) => a + x.bytes, 0),
    top: top.slice(0, Number(process.env["WEFT_BENCH_CH_PROFILE_TOP"] ?? 5)),
  };
}

const asJson = (s: SpanRecord | undefined): string => JSON.stringify(s ?? null, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

/**
 * The two stores hold the same spans: generated background rows and written ones, looked up by
 * span id through each store (which also proves ClickHouse's SQL-made `span_keys` rows match the
 * store's fingerprints), compared whole.
 */
async function sameSpans(a: Store, b: Store, ids: string[]): Promise<void> {
  for (const id of ids) {
    const [x, y] = await Promise.all([a, b].map(async (s) => (await s.findByLinkKeys([{ type: 'span', value: id }], { limit: 4 })).filter((r) => r.spanId === id)));
    if (x?.length !== 1 || y?.length !== 1) throw new Error(`span ${id}: ${a.kind} has ${x?.length}, ${b.kind} has ${y?.length} (want 1 each)`);
    if (asJson(x[0]) !== asJson(y[0])) throw new Error(`span ${id} differs:\n${a.kind} ${asJson(x[0])}\n${b.kind} ${asJson(y[0])}`);
  }
}

/** Background rows [0, to) into DuckDB, a million at a time, each chunk indexed by the store's own open. */
async function fillDuckDb(path: string, rows: number, to: number, log: (l: string) => void): Promise<void> {
  const chunk = 1_000_000;
  for (let a = 0; a < to; a += chunk) {
    const b = Math.min(to, a + chunk);
    await fillDuckDbChunk(path, rows, a, b);
    const s = await openDuckDbStore({ path });
    await s.close();
    log(`  duckdb: generated and indexed rows ${b}/${to}`);
  }
}

async function fillBoth(ch: ClickHouseStore, duckPath: string, rows: number, written: number, batch: number, log: (l: string) => void, samples: SpanRecord[]): Promise<{ rates: number[]; fill: number[] }> {
  const duck = await openDuckDbStore({ path: duckPath });
  let rates: number[];
  try {
    log(`writing ${written} SYS spans through store.write to ClickHouse and DuckDB, batches of ${batch}, interleaved`);
    rates = await writeSample([ch, duck], rows, rows - written, batch, log, samples);
    for (let k = 0; k < TRACES; k++) {
      const trace = traceAt(k, rows);
      await ch.write(trace);
      await duck.write(trace);
    }
  } finally {
    await duck.close();
  }
  const bg = rows - written;
  log(`generating ${bg} background SYS spans inside each engine`);
  let t = performance.now();
  await fillClickHouse(ch, rows, 0, bg, log);
  const chFill = (performance.now() - t) / 1000;
  t = performance.now();
  await fillDuckDb(duckPath, rows, bg, log);
  return { rates, fill: [chFill, (performance.now() - t) / 1000] };
}

export async function runClickHouseBench(log: (line: string) => void = () => {}): Promise<ClickHouseBenchResult> {
  // Whole traces per position: trace k sits at row k · rows / TRACES.
  const rows = Math.ceil(Number(process.env['WEFT_BENCH_CH_SPANS'] ?? 10_000_000) / TRACES) * TRACES;
  const written = Math.min(rows, Number(process.env['WEFT_BENCH_CH_WRITE_SPANS'] ?? 200_000));
  const batch = Number(process.env['WEFT_BENCH_CH_BATCH'] ?? 50_000);
  const runs = Number(process.env['WEFT_BENCH_CH_RUNS'] ?? 50);
  const stored = rows + TRACES * 40;
  const loadStart = loadavg()[0] as number;
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-ch-'));
  const duckPath = join(dir, 'bench.duckdb');
  const servers: ClickHouseProcess[] = [];
  try {
    const chp = await startClickHouse({ queryLog: true });
    servers.push(chp);
    // Generating a million rows server-side takes longer than a query's usual 15 s limit here.
    const ch = await openClickHouseStore({ url: `${chp.url}/bench`, requestTimeoutMs: 30 * 60_000 });
    try {
      const version = clickHouseVersion();
      log(`ClickHouse ${version} and DuckDB: ${stored} spans each (load average ${loadStart.toFixed(1)})`);
      const samples: SpanRecord[] = [];
      const { rates, fill } = await fillBoth(ch, duckPath, rows, written, batch, log, samples);
      const [chRate, duckRate] = rates as [number, number];
      log(`  write through store.write: clickhouse ${Math.round(chRate)} spans/s, duckdb ${Math.round(duckRate)} spans/s`);
      const chBytes = await chBytesPerSpan(ch, stored);
      const duckBytes = +(statSync(duckPath).size / stored).toFixed(1); // closed: checkpointed
      log(`  bytes per span: clickhouse ${chBytes.total} (${JSON.stringify(chBytes.tables)}), duckdb ${duckBytes}`);

      const duck = await openDuckDbStore({ path: duckPath });
      try {
        const [cc, dc] = [await ch.countSpans(), await duck.countSpans()];
        if (cc !== stored || dc !== stored) throw new Error(`stored spans: clickhouse ${cc}, duckdb ${dc}, want ${stored}`);
        const r = rng(5);
        const generated = Array.from({ length: 12 }, () => backgroundSpanId(r() % (rows - written)));
        await sameSpans(ch, duck, [...generated, ...samples.slice(0, 6).map((s) => s.spanId), traceAt(3, rows)[5]?.spanId ?? '']);
        log('  the two stores hold the same spans (sampled, compared whole)');
        const keyLookup = await keyLookups(ch, samples, log);
        for (const k of keyLookup) log(`  clickhouse lookup, ${k.via}: p50 ${k.p50Ms} ms, p99 ${k.p99Ms} ms`);
        const [chAsm, duckAsm] = (await timeAssembly([ch, duck], rows, runs)) as [StoreNumbers['assembly'], StoreNumbers['assembly']];
        for (const [name, a] of [['clickhouse', chAsm], ['duckdb', duckAsm]] as const) {
          log(`  ${name}: 40-span trace among ${stored} spans: p50 ${a.p50Ms} ms, p99 ${a.p99Ms} ms (${a.foundSpans} spans in the trace)`);
        }
        const walkProfile = await profileWalk(ch, rows, 42);
        log(`  clickhouse walk profile: ${walkProfile.queries} queries, ${walkProfile.durationMs} ms in ClickHouse, ${walkProfile.readRows} rows / ${walkProfile.readBytes} bytes read`);
        for (const q of walkProfile.top) log(`    ${q.ms} ms, ${q.rows} rows, ${q.bytes} bytes: ${q.query}`);
        const result: ClickHouseBenchResult = {
          clickhouseVersion: version,
          storedSpans: stored,
          writtenSpans: written,
          batchSpans: batch,
          loadAverage: { start: loadStart, end: loadavg()[0] as number },
          stores: [
            { store: 'clickhouse', writeSpansPerSec: Math.round(chRate), bytesPerSpan: chBytes.total, tableBytesPerSpan: chBytes.tables, fillSeconds: Math.round(fill[0] as number), assembly: chAsm },
            { store: 'duckdb', writeSpansPerSec: Math.round(duckRate), bytesPerSpan: duckBytes, fillSeconds: Math.round(fill[1] as number), assembly: duckAsm },
          ],
          writeRatio: +(chRate / duckRate).toFixed(2),
          assemblyP50Ratio: +(chAsm.p50Ms / duckAsm.p50Ms).toFixed(2),
          keyLookup,
          walkProfile,
        };
        log(`  clickhouse / duckdb: write ${result.writeRatio}, assembly p50 ${result.assemblyP50Ratio} (load average ${result.loadAverage.start.toFixed(1)} → ${result.loadAverage.end.toFixed(1)})`);
        if (process.env['WEFT_BENCH_CH_ZSTD'] !== '0') result.zstdBytesPerSpan = await zstdBytes(rows, written, batch, servers, log);
        return result;
      } finally {
        await duck.close();
      }
    } finally {
      await ch.close();
    }
  } finally {
    for (const s of servers) await s.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same spans on a server that compresses parts with zstd (a server setting, not schema). */
async function zstdBytes(rows: number, written: number, batch: number, servers: ClickHouseProcess[], log: (l: string) => void): Promise<number> {
  const chz = await startClickHouse({ compression: 'zstd' });
  servers.push(chz);
  const z = await openClickHouseStore({ url: `${chz.url}/bench`, requestTimeoutMs: 30 * 60_000 });
  try {
    for (let at = rows - written; at < rows; at += batch) await z.write(sysSpans(at, Math.min(batch, rows - at), T0, GAP));
    for (let k = 0; k < TRACES; k++) await z.write(traceAt(k, rows));
    await fillClickHouse(z, rows, 0, rows - written, () => {});
    const bytes = (await chBytesPerSpan(z, rows + TRACES * 40)).total;
    log(`  clickhouse with zstd parts: ${bytes} bytes/span`);
    return bytes;
  } finally {
    await z.close();
  }
}
