/**
 * @module `--retention`: whole day partitions older than the retention are dropped (18.16 has no
 * TTL), newer ones and today's are kept, in both tables; the link-key side table follows its spans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySpan } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { openClickHouseStore } from './clickhouse-store.js';
import { startClickHouse } from './testing/clickhouse-process.js';
import type { ClickHouseProcess } from './testing/clickhouse-process.js';

const DAY_MS = 86_400_000;
/** "Now": 2026-11-24 15:00 UTC. */
const NOW_MS = Date.UTC(2026, 10, 24, 15);

function spanOnDay(daysAgo: number, i: number): SpanRecord {
  const start = BigInt(NOW_MS - daysAgo * DAY_MS) * 1_000_000n + BigInt(i);
  return {
    ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' }),
    spanId: `${daysAgo.toString(16).padStart(4, '0')}${i.toString(16).padStart(12, '0')}`,
    service: 'retention',
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1000n,
    reqTcpSeq: 1 + daysAgo * 100 + i,
  };
}

let ch: ClickHouseProcess;
beforeAll(async () => {
  ch = await startClickHouse();
}, 60_000);
afterAll(async () => {
  await ch?.destroy();
});

describe('retention', () => {
  it('drops day partitions older than the retention and keeps the rest', async () => {
    const url = `${ch.url}/retention`;
    const writer = await openClickHouseStore({ url });
    const days = [0, 1, 6, 7, 8, 30];
    await writer.write(days.flatMap((d) => [spanOnDay(d, 1), spanOnDay(d, 2)]));
    await writer.close();

    // Opening with --retention 7d drops at once: days 8 and 30 (wholly older than 7 days before today).
    const store = await openClickHouseStore({ url, retentionDays: 7, nowMs: () => NOW_MS });
    try {
      const left = await store.findSpans({ limit: 100 });
      const keptDays = [...new Set(left.map((s) => Math.round((NOW_MS - Number(s.startTimeUnixNano / 1_000_000n)) / DAY_MS)))].sort((a, b) => a - b);
      expect(keptDays).toStrictEqual([0, 1, 6, 7]);
      expect(left).toHaveLength(8);
      // The key side table lost the dropped days too: their tcp seqs find nothing.
      expect(await store.findByLinkKeys([{ type: 'tcp_seq', value: String(1 + 30 * 100 + 1) }], { limit: 10 })).toStrictEqual([]);
      expect(await store.findByLinkKeys([{ type: 'tcp_seq', value: String(1 + 7 * 100 + 1) }], { limit: 10 })).toHaveLength(1);
      const parts = await store.select("SELECT DISTINCT partition_id FROM system.parts WHERE database = 'retention' AND table = 'span_keys' AND active ORDER BY partition_id");
      expect(parts.map((r) => r[0])).toStrictEqual(['20261117', '20261118', '20261123', '20261124']);
      // Running again drops nothing more.
      expect(await store.dropPartitionsBefore(BigInt(NOW_MS - 7 * DAY_MS) * 1_000_000n)).toStrictEqual([]);
    } finally {
      await store.close();
    }
  });
});
