/**
 * @module `weft migrate --from duckdb:PATH --to clickhouse:URL`: a DuckDB data dir (the conformance
 * fixtures with their hostile strings, plus thousands of SYS spans) is copied into a real
 * ClickHouse; a migration stopped part-way resumes from its checkpoint through the CLI, and in the
 * end ClickHouse holds every span, field for field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../src/model/index.js';
import { openClickHouseStore } from '../../src/server/store/clickhouse/clickhouse-store.js';
import { startClickHouse } from '../../src/server/store/clickhouse/testing/clickhouse-process.js';
import type { ClickHouseProcess } from '../../src/server/store/clickhouse/testing/clickhouse-process.js';
import { loadFixtureSpans } from '../../src/server/store/conformance/fixture-spans.js';
import { openDuckDbStore } from '../../src/server/store/index.js';
import { migrateDuckDbToClickHouse } from '../../src/server/store/migrate/duckdb-to-clickhouse.js';
import { spanIdentity } from '../../src/server/store/span-query-match.js';
import { cliFromSource, runToEnd } from './cli-process.js';

const SYS_SPANS = 6_000;
const BATCH = 500;

function sysSpans(): SpanRecord[] {
  const base = loadFixtureSpans().get('s2') as SpanRecord;
  return Array.from({ length: SYS_SPANS }, (_, i) => ({
    ...base,
    spanId: (0x5000000000000000n + BigInt(i)).toString(16),
    reqTcpSeq: 10_000 + i,
    respTcpSeq: 20_000 + i,
    syscallTraceIdReq: 1_000 + (i % 97),
    startTimeUnixNano: base.startTimeUnixNano + BigInt(i) * 1_000_000n,
    endTimeUnixNano: base.startTimeUnixNano + BigInt(i) * 1_000_000n + 250_000n,
    attributes: {},
    warnings: [],
  }));
}

const byIdentity = (a: SpanRecord, b: SpanRecord): number => (spanIdentity(a) < spanIdentity(b) ? -1 : 1);

let dir: string;
let ch: ClickHouseProcess;
let duckPath: string;
let written: SpanRecord[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-migrate-'));
  duckPath = join(dir, 'weft.duckdb');
  const duck = await openDuckDbStore({ path: duckPath });
  const fixtures = [...loadFixtureSpans().values()];
  await duck.write(fixtures);
  await duck.write(sysSpans());
  // A re-sent batch: DuckDB keeps both rows, ClickHouse must end up with each span once.
  await duck.write([...loadFixtureSpans().values()].slice(0, 3));
  written = await duck.findSpans({ limit: 10_000 });
  await duck.close();
  ch = await startClickHouse();
}, 60_000);

afterAll(async () => {
  await ch?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('weft migrate', () => {
  it('stops part-way, resumes through the CLI, and keeps every span exactly', async () => {
    const url = `${ch.url}/migrated`;
    const stop = new AbortController();
    let batches = 0;
    const partial = await migrateDuckDbToClickHouse({
      from: duckPath,
      to: url,
      batchSpans: BATCH,
      signal: stop.signal,
      onProgress: () => {
        if (++batches === 4) stop.abort(); // the first report is the starting point, then 3 batches
      },
    });
    expect(partial.complete).toBe(false);
    expect(partial.copied).toBe(3 * BATCH);

    const cli = await runToEnd(cliFromSource(['migrate', '--from', `duckdb:${duckPath}`, '--to', `clickhouse:${url}`, '--batch-spans', String(BATCH)]));
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toContain(`resuming an earlier migration at ${(3 * BATCH).toLocaleString('en-US')} spans`);
    expect(cli.stderr).toMatch(/\[#{30}\] 100\.0%/);
    expect(cli.stdout).toContain(`ClickHouse holds ${written.length.toLocaleString('en-US')} distinct spans`);

    const store = await openClickHouseStore({ url });
    try {
      expect(await store.countSpans()).toBe(written.length);
      const got = await store.findSpans({ limit: 10_000 });
      expect(got.sort(byIdentity)).toStrictEqual([...written].sort(byIdentity));
    } finally {
      await store.close();
    }

    // Run again: nothing left to copy, nothing doubled.
    const again = await runToEnd(cliFromSource(['migrate', '--from', `duckdb:${duckPath}`, '--to', `clickhouse:${url}`]));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`ClickHouse holds ${written.length.toLocaleString('en-US')} distinct spans`);
  }, 120_000);

  it('bad arguments exit 2 naming the option', async () => {
    const r = await runToEnd(cliFromSource(['migrate', '--from', 'sqlite:x', '--to', 'clickhouse:ftp://x', '--batch-spans', '0']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--from must be duckdb:PATH (actual: 'sqlite:x')");
    expect(r.stderr).toContain('--to must be clickhouse:URL');
    expect(r.stderr).toContain("--batch-spans must be an integer 1–1000000 (actual: '0')");
  });
});
