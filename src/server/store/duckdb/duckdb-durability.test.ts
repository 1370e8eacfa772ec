/**
 * @module DuckDB store durability and persistence: every acknowledged span survives kill -9, and
 * a reopened store answers link-key lookups from its persisted index.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFixtureSpans } from '../conformance/fixture-spans.js';
import { crashTestBatch } from './crash-test-writer.js';
import { openDuckDbStore } from './duckdb-store.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-duckdb-dur-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WRITER = fileURLToPath(new URL('./crash-test-writer.ts', import.meta.url));
const SPANS_PER_BATCH = 150;
const ACKS_BEFORE_KILL = 40;

describe('DuckDB store durability', () => {
  it('keeps every acknowledged span after SIGKILL mid-stream', async () => {
    const path = join(dir, 'crash.duckdb');
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(SPANS_PER_BATCH)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: number[] = [];
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const lines = createInterface({ input: child.stdout });
    for await (const line of lines) {
      const m = /^ack (\d+)$/.exec(line);
      if (m) acked.push(Number(m[1]));
      if (acked.length >= ACKS_BEFORE_KILL) {
        // Killed while further writes are in flight: those may or may not be there; acked ones must.
        child.kill('SIGKILL');
        break;
      }
    }
    expect(await exited).toBe('SIGKILL');

    const store = await openDuckDbStore({ path, blockSpans: 256 });
    try {
      const total = await store.countSpans();
      expect(total).toBeGreaterThanOrEqual(acked.length * SPANS_PER_BATCH);
      for (const b of acked) {
        const want = crashTestBatch(b, SPANS_PER_BATCH);
        const got = await store.findByLinkKeys([{ type: 'x_request_id', value: `crash-${b}` }], { limit: 1000 });
        expect(got.length, `batch ${b}`).toBe(SPANS_PER_BATCH);
        const probe = want[b % SPANS_PER_BATCH] as (typeof want)[number];
        const [found] = await store.findByLinkKeys([{ type: 'tcp_seq', value: String(probe.reqTcpSeq) }], { limit: 10 });
        expect(found).toStrictEqual(probe);
      }
    } finally {
      await store.close();
    }
  });

  it('reopens with its spans, its link index and its attribute keys', async () => {
    const path = join(dir, 'reopen.duckdb');
    const fixtures = [...loadFixtureSpans().values()];
    const first = await openDuckDbStore({ path, blockSpans: 4 });
    await first.write(fixtures);
    await first.close();
    const again = await openDuckDbStore({ path, blockSpans: 4 });
    try {
      expect(again.indexStats().blocks).toBe(Math.ceil(fixtures.length / 4));
      expect(await again.countSpans()).toBe(fixtures.length);
      const s2 = loadFixtureSpans().get('s2');
      expect(await again.findByLinkKeys([{ type: 'syscall', value: '42' }], { limit: 10 })).toContainEqual(s2);
      expect(await again.attributeKeys(1000)).toContain('http.route');
      // Writes after reopening continue the ordinals and stay findable.
      const extra = { ...(s2 as NonNullable<typeof s2>), spanId: '2000000000000099', syscallTraceIdReq: 4242 };
      await again.write([extra]);
      expect(await again.findByLinkKeys([{ type: 'syscall', value: '4242' }], { limit: 10 })).toStrictEqual([extra]);
    } finally {
      await again.close();
    }
  });

  it('rejects opening a file that is not a DuckDB database with TRC_STORE_OPEN', async () => {
    const path = join(dir, 'bad', 'not-a-db.duckdb');
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'bad'), { recursive: true });
    writeFileSync(path, 'this is not a DuckDB file, just text that is long enough to be read as a header');
    await expect(openDuckDbStore({ path })).rejects.toMatchObject({ code: 'TRC_STORE_OPEN' });
  });
});
