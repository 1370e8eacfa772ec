/**
 * @module Store benchmark: DuckDB appender write rate (acknowledged = durable), bytes per SYS
 * span on disk, and link-key lookup latency at that size.
 *
 * Env: WEFT_BENCH_STORE_SPANS (default 1,000,000), WEFT_BENCH_STORE_BATCH (default 5,000),
 * WEFT_BENCH_DIR (default a temp dir, removed afterwards).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbStore } from '../src/server/store/index.js';
import type { LinkKey } from '../src/server/store/index.js';
import { linkKeysOf } from '../src/server/store/store.js';
import { rng, sysSpans } from './sys-spans.js';

export interface StoreBenchResult {
  spans: number;
  batchSpans: number;
  writeSpansPerSec: number;
  bytesPerSpan: number;
  indexBytesPerSpan: number;
  /** findByLinkKeys latency; `windowed` lookups pass a ±10 s time range as assembly rounds do. */
  lookups: { keys: number; windowed: boolean; p50Ms: number; p99Ms: number }[];
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

export async function runStoreBench(log: (line: string) => void): Promise<StoreBenchResult> {
  const total = Number(process.env['WEFT_BENCH_STORE_SPANS'] ?? 1_000_000);
  const batch = Number(process.env['WEFT_BENCH_STORE_BATCH'] ?? 5_000);
  const dir = process.env['WEFT_BENCH_DIR'] ?? mkdtempSync(join(tmpdir(), 'weft-bench-store-'));
  const path = join(dir, 'bench.duckdb');
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
  const t0ns = 1_700_000_000_000_000_000n;
  const gap = 1_000_000n; // 1k spans/s of simulated time
  let store = await openDuckDbStore({ path });
  let writeMs = 0;
  for (let from = 0; from < total; from += batch) {
    const spans = sysSpans(from, Math.min(batch, total - from), t0ns, gap);
    const t = performance.now();
    await store.write(spans);
    writeMs += performance.now() - t;
    if ((from / batch) % 40 === 0) log(`  wrote ${from + batch} spans`);
  }
  const writeSpansPerSec = total / (writeMs / 1000);
  const indexBytes = store.indexStats().fingerprintBytes;
  await store.close();
  // Reopen to measure what is on disk after a checkpoint (close checkpoints the WAL).
  const bytesPerSpan = statSync(path).size / total;

  store = await openDuckDbStore({ path });
  const r = rng(7);
  const lookups: StoreBenchResult['lookups'] = [];
  for (const [keyCount, windowed] of [
    [1, false],
    [40, false],
    [120, false],
    [40, true],
    [120, true],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      // Keys of spans near one another in time, as a trace's are; regenerated exactly as written.
      const batchStart = (r() % Math.max(1, Math.floor(total / batch))) * batch;
      const written = sysSpans(batchStart, Math.min(batch, total - batchStart), t0ns, gap);
      const offset = r() % Math.max(1, written.length - 100);
      const keys: LinkKey[] = [];
      for (const s of written.slice(offset, offset + 100)) keys.push(...linkKeysOf(s));
      const chosen = keys.slice(0, keyCount);
      const t = performance.now();
      const around = (written[offset] as (typeof written)[number]).startTimeUnixNano;
      const window = 10_000_000_000n;
      const found = await store.findByLinkKeys(
        chosen,
        windowed ? { limit: 10_000, timeRange: { startUnixNano: around - window, endUnixNano: around + window } } : { limit: 10_000 },
      );
      times.push(performance.now() - t);
      if (found.length < Math.min(keyCount, 1)) throw new Error('lookup found nothing: the index is broken');
    }
    lookups.push({ keys: keyCount, windowed, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) });
  }
  await store.close();
  if (process.env['WEFT_BENCH_DIR'] === undefined) rmSync(dir, { recursive: true, force: true });
  return { spans: total, batchSpans: batch, writeSpansPerSec, bytesPerSpan, indexBytesPerSpan: indexBytes / total, lookups };
}
