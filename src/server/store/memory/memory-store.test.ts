/** @module Runs the store conformance suite against the in-memory reference store. */
import { runStoreConformance } from '../conformance/store-conformance.js';
import { createMemoryStore } from './memory-store.js';

runStoreConformance({
  name: 'memory',
  create: async () => createMemoryStore(),
});
