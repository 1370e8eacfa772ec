/**
 * @module Window reads find spans that started long before the window: the store reads one second
 * of lookback by primary key and finds longer spans through their duration-class markers, so a
 * 3-hour or 30-day span overlapping a window is returned, and nothing that ended before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySpan } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { openClickHouseStore } from './clickhouse-store.js';
import type { ClickHouseStore } from './clickhouse-store.js';
import { startClickHouse } from './testing/clickhouse-process.js';
import type { ClickHouseProcess } from './testing/clickhouse-process.js';

const S = 1_000_000_000n;
/** The window the tests read: [T, T + 1 s]. */
const T = 1_800_000_000n * S;

function span(id: string, startBefore: bigint, duration: bigint): SpanRecord {
  return {
    ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 's-p' }),
    spanId: id,
    service: 'long',
    startTimeUnixNano: T - startBefore,
    endTimeUnixNano: T - startBefore + duration,
    reqTcpSeq: 4242,
  };
}

// Each reaches into the window unless its name says it ends before.
const SPANS = [
  span('0000000000000001', 500_000_000n, 600_000_000n), // 0.5 s before, within the lookback
  span('0000000000000002', 3n * S, 4n * S), // 3 s before: class 0/1
  span('0000000000000003', 90n * S, 100n * S), // 90 s
  span('0000000000000004', 3n * 3600n * S, 3n * 3600n * S + S), // 3 h
  span('0000000000000005', 30n * 86_400n * S, 31n * 86_400n * S), // 30 days, across partitions
  span('00000000000000e1', 3n * 3600n * S, 3600n * S), // started 3 h before, ended 2 h before
  span('00000000000000e2', 5n * S, 2n * S), // ended 3 s before
];

let ch: ClickHouseProcess;
let store: ClickHouseStore;
beforeAll(async () => {
  ch = await startClickHouse();
  store = await openClickHouseStore({ url: `${ch.url}/long` });
  await store.write(SPANS);
}, 60_000);
afterAll(async () => {
  await store?.close();
  await ch?.destroy();
});

describe('long spans', () => {
  const window = { startUnixNano: T, endUnixNano: T + S };
  const want = ['0000000000000001', '0000000000000002', '0000000000000003', '0000000000000004', '0000000000000005'];

  it('findInTimeRange returns every span overlapping the window, however long ago it started', async () => {
    const got = await store.findInTimeRange(window, { limit: 100 });
    expect(got?.map((s) => s.spanId).sort()).toStrictEqual(want);
  });

  it('a time-bound key inside the window finds them too', async () => {
    const got = await store.findByLinkKeys([{ type: 'tcp_seq', value: '4242' }], { limit: 100, timeRange: window });
    expect(got.map((s) => s.spanId).sort()).toStrictEqual(want);
    const all = await store.findByLinkKeys([{ type: 'tcp_seq', value: '4242' }], { limit: 100 });
    expect(all).toHaveLength(SPANS.length);
  });

  it('a long span written after a window read is in the next read of that window (markers remembered by reads are dropped)', async () => {
    const nearby = { startUnixNano: T + S / 2n, endUnixNano: T + S };
    expect((await store.findInTimeRange(nearby, { limit: 100 }))?.map((s) => s.spanId)).not.toContain('00000000000000f1');
    await store.write([span('00000000000000f1', 20n * S, 21n * S)]);
    expect((await store.findInTimeRange(nearby, { limit: 100 }))?.map((s) => s.spanId)).toContain('00000000000000f1');
  });
});
