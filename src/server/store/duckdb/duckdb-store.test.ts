/** @module Runs the store conformance suite against the DuckDB store, on a fresh file per store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { runStoreConformance } from '../conformance/store-conformance.js';
import { openDuckDbStore } from './duckdb-store.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-duckdb-conf-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runStoreConformance({
  name: 'duckdb',
  // A small block size so the conformance writes also seal and query sealed blocks.
  create: async () => openDuckDbStore({ path: join(dir, `store-${n++}.duckdb`), blockSpans: 64, threads: 1 }),
});
