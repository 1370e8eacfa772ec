/** @module Runs the store conformance suite against a real ClickHouse server, a fresh database per store. */
import { afterAll, beforeAll } from 'vitest';
import { runStoreConformance } from '../conformance/store-conformance.js';
import { openClickHouseStore } from './clickhouse-store.js';
import { startClickHouse } from './testing/clickhouse-process.js';
import type { ClickHouseProcess } from './testing/clickhouse-process.js';

let ch: ClickHouseProcess;
let n = 0;
beforeAll(async () => {
  ch = await startClickHouse();
}, 60_000);
afterAll(async () => {
  await ch?.destroy();
});

runStoreConformance({
  name: 'clickhouse',
  create: async () => openClickHouseStore({ url: `${ch.url}/conf_${n++}` }),
});
