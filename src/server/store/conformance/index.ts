/** @module The store conformance suite and its fixtures, for each implementation's test file. */
export { runStoreConformance } from './store-conformance.js';
export type { StoreConformanceOptions, StoreConformanceSkip } from './store-conformance.js';
export { loadFixtureSpans, FIXTURE_T0_NANO, NANOS_PER_MS } from './fixture-spans.js';
