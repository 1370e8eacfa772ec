/** @module Clients of external APM Trace APIs (integration 1): the public surface of src/server/apm-clients. */
export { createApmTraceFetcher, MAX_RESPONSE_BYTES, MAX_SKYWALKING_IDS, NEGATIVE_CACHE_TTL_MS } from './apm-trace-fetcher.js';
export type { ApmEndpoint, ApmFetcherOptions, ApmName, ApmTraceFetcher, FetchTraceOptions } from './apm-trace-fetcher.js';
export { createLruTtlCache } from './lru-ttl-cache.js';
export type { LruTtlCache } from './lru-ttl-cache.js';
