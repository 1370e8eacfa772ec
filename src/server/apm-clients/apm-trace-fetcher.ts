/**
 * @module Fetches a trace's APP spans from the configured external APMs (integration 1).
 *
 * One call per APM, all in parallel, each bounded by `timeoutMs` (AbortSignal.timeout, which
 * covers the body too) and by MAX_RESPONSE_BYTES. Answers are cached in an LRU with a TTL:
 * found traces for `cacheTtlMs`, "not found" and failures for a shorter time, so a hot trace
 * page does not hammer an APM and a failing APM is not asked again on every refresh. Concurrent
 * requests for the same trace share one call. A slow, failing or malformed APM becomes a
 * warning naming the APM and the reason; `fetchTrace` itself never rejects.
 *
 * Wire shapes: SkyWalking GraphQL `queryTrace` on POST {url}/graphql; Jaeger GET
 * {url}/api/traces/{id}, falling back to api_v3 {url}/api/v3/traces/{id} when the old endpoint
 * is missing; Tempo GET {url}/api/traces/{id}; Zipkin GET {url}/api/v2/trace/{id}.
 */
import { normalizeHexId } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import {
  parseJaegerTraceBody,
  parseJaegerV3TraceBody,
  parseSkyWalkingQueryTraceBody,
  parseTempoTraceBody,
  parseZipkinTraceBody,
  SKYWALKING_QUERY_TRACE,
} from '../../apm/trace-api/index.js';
import type { TraceApiResult } from '../../apm/trace-api/index.js';
import { createLruTtlCache } from './lru-ttl-cache.js';

export type ApmName = 'skywalking' | 'jaeger' | 'tempo' | 'zipkin';

export interface ApmEndpoint {
  name: ApmName;
  /** Base URL of the APM's query service (e.g. http://jaeger:16686, http://oap:12800). */
  url: string;
}

export interface ApmFetcherOptions {
  /** Per APM call, body included. */
  timeoutMs: number;
  /** How long a found trace is reused. */
  cacheTtlMs: number;
  cacheMaxEntries: number;
  /** Spans all cached answers may hold together (default CACHE_MAX_SPANS); the LRU end goes first. */
  cacheMaxSpans?: number;
  /** How long "not found" and failures are remembered; default min(cacheTtlMs, NEGATIVE_CACHE_TTL_MS). */
  negativeCacheTtlMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface FetchTraceOptions {
  /**
   * Other forms of the trace id, e.g. the original SkyWalking ids (`sw8.trace_id`) of spans
   * already in the trace. SkyWalking ids need not be hex, so SkyWalking is asked for each of
   * them; the hex-only APMs use the first hex one when `traceId` is not hex.
   */
  aliases?: readonly string[];
}

export interface ApmTraceFetcher {
  /** APP spans of the trace from every APM, merged (first APM wins on a duplicate span), and warnings. */
  fetchTrace(traceId: string, options?: FetchTraceOptions): Promise<{ spans: SpanRecord[]; warnings: string[] }>;
}

/** Upper bound for a failure or "not found" to be remembered. */
export const NEGATIVE_CACHE_TTL_MS = 5_000;
/** A trace body larger than this is refused (a 10k-span Jaeger trace is ~10 MB). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** SkyWalking id forms tried per trace. */
export const MAX_SKYWALKING_IDS = 4;
const HTTP_NOT_FOUND = 404;

/**
 * Spans the answer cache holds at most (about 2 KiB each in memory: ~100 MiB). Counted in spans,
 * not entries: one APM trace may have 20k spans, and a thousand of those would be gigabytes.
 */
const CACHE_MAX_SPANS = 50_000;

type Outcome = { kind: 'found'; spans: SpanRecord[]; note: string } | { kind: 'not-found' } | { kind: 'failed'; reason: string };

interface HttpAnswer {
  status: number;
  body: Uint8Array;
}

class BodyTooLarge extends Error {}

function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  if (err instanceof BodyTooLarge) return err.message;
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

async function readLimited(res: Response): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw new BodyTooLarge(`response of ${length} bytes exceeds ${MAX_RESPONSE_BYTES}`);
  }
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new BodyTooLarge(`response exceeds ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

function outcomeOf(result: TraceApiResult): Outcome {
  if (!result.ok) return { kind: 'failed', reason: `malformed response: ${result.error}` };
  if (result.spans.length === 0 && result.rejected === 0) return { kind: 'not-found' };
  const note = result.rejected > 0 ? `${result.rejected} span(s) rejected (${result.errors[0] ?? 'bad span'})` : '';
  return { kind: 'found', spans: result.spans, note };
}

function statusFailure(a: HttpAnswer): Outcome {
  const text = Buffer.from(a.body.subarray(0, 200)).toString('utf8').replace(/\s+/g, ' ').trim();
  return { kind: 'failed', reason: `HTTP ${a.status}${text === '' ? '' : ` (${text})`}` };
}

/** Jaeger's old API answers "trace not found" as a 404 envelope; anything else on 404 means the endpoint is missing. */
function isJaegerNotFoundEnvelope(body: Uint8Array): boolean {
  try {
    const v: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
    return typeof v === 'object' && v !== null && Array.isArray((v as { errors?: unknown }).errors);
  } catch {
    return false;
  }
}

function mergeOutcomes(outcomes: Outcome[]): Outcome {
  const found = outcomes.filter((o): o is Extract<Outcome, { kind: 'found' }> => o.kind === 'found');
  if (found.length > 0) return { kind: 'found', spans: found.flatMap((o) => o.spans), note: found.map((o) => o.note).filter((n) => n !== '').join('; ') };
  const failed = outcomes.find((o) => o.kind === 'failed');
  return failed ?? { kind: 'not-found' };
}

export function createApmTraceFetcher(configs: readonly ApmEndpoint[], opts: ApmFetcherOptions): ApmTraceFetcher {
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  const negativeTtlMs = opts.negativeCacheTtlMs ?? Math.min(opts.cacheTtlMs, NEGATIVE_CACHE_TTL_MS);
  const cache = createLruTtlCache<Outcome>(opts.cacheMaxEntries, now, {
    maxWeight: opts.cacheMaxSpans ?? CACHE_MAX_SPANS,
    // A negative answer still costs its entry.
    weigh: (o) => (o.kind === 'found' ? o.spans.length : 1),
  });
  const inFlight = new Map<string, Promise<Outcome>>();

  async function http(url: string, init: RequestInit): Promise<HttpAnswer> {
    const res = await doFetch(url, { ...init, signal: AbortSignal.timeout(opts.timeoutMs) });
    return { status: res.status, body: await readLimited(res) };
  }

  async function get(url: string): Promise<HttpAnswer> {
    return http(url, { method: 'GET', headers: { accept: 'application/json' } });
  }

  async function querySkyWalking(base: string, id: string): Promise<Outcome> {
    const a = await http(joinUrl(base, '/graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: SKYWALKING_QUERY_TRACE, variables: { traceId: id } }),
    });
    if (a.status !== 200) return statusFailure(a);
    return outcomeOf(parseSkyWalkingQueryTraceBody(a.body));
  }

  async function queryJaeger(base: string, hex: string): Promise<Outcome> {
    const a = await get(joinUrl(base, `/api/traces/${hex}`));
    if (a.status === 200) return outcomeOf(parseJaegerTraceBody(a.body));
    if (a.status !== HTTP_NOT_FOUND) return statusFailure(a);
    if (isJaegerNotFoundEnvelope(a.body)) return { kind: 'not-found' };
    const v3 = await get(joinUrl(base, `/api/v3/traces/${hex}`));
    if (v3.status === 200) return outcomeOf(parseJaegerV3TraceBody(v3.body));
    return v3.status === HTTP_NOT_FOUND ? { kind: 'not-found' } : statusFailure(v3);
  }

  async function queryTempo(base: string, hex: string): Promise<Outcome> {
    const a = await get(joinUrl(base, `/api/traces/${hex}`));
    if (a.status === 200) return outcomeOf(parseTempoTraceBody(a.body));
    return a.status === HTTP_NOT_FOUND ? { kind: 'not-found' } : statusFailure(a);
  }

  async function queryZipkin(base: string, hex: string): Promise<Outcome> {
    // A 64-bit trace id is stored by Zipkin as 16 hex characters; ask in that form.
    const id = hex.startsWith('0000000000000000') ? hex.slice(16) : hex;
    const a = await get(joinUrl(base, `/api/v2/trace/${id}`));
    if (a.status === 200) return outcomeOf(parseZipkinTraceBody(a.body));
    return a.status === HTTP_NOT_FOUND ? { kind: 'not-found' } : statusFailure(a);
  }

  async function queryOne(apm: ApmEndpoint, ids: readonly string[]): Promise<Outcome> {
    try {
      switch (apm.name) {
        case 'skywalking':
          return mergeOutcomes(await Promise.all(ids.map((id) => querySkyWalking(apm.url, id))));
        case 'jaeger':
          return await queryJaeger(apm.url, ids[0] ?? '');
        case 'tempo':
          return await queryTempo(apm.url, ids[0] ?? '');
        case 'zipkin':
          return await queryZipkin(apm.url, ids[0] ?? '');
      }
    } catch (err) {
      return { kind: 'failed', reason: describeError(err, opts.timeoutMs) };
    }
  }

  function cached(apm: ApmEndpoint, ids: readonly string[]): { outcome: Promise<Outcome>; fromCache: boolean } {
    const key = `${apm.name}\u0000${apm.url}\u0000${ids.join('\u0000')}`;
    const hit = cache.get(key);
    if (hit) return { outcome: Promise.resolve(hit), fromCache: true };
    let p = inFlight.get(key);
    if (!p) {
      p = queryOne(apm, ids).then((o) => {
        inFlight.delete(key);
        cache.set(key, o, o.kind === 'found' ? opts.cacheTtlMs : negativeTtlMs);
        return o;
      });
      inFlight.set(key, p);
    }
    return { outcome: p, fromCache: false };
  }

  return {
    async fetchTrace(traceId, options = {}) {
      const all = [traceId, ...(options.aliases ?? [])].map((s) => s.trim()).filter((s) => s !== '');
      const hex = all.map((s) => normalizeHexId(s, 32)).find((h) => h !== '') ?? '';
      const swIds = [...new Set([...(options.aliases ?? []), traceId].map((s) => s.trim()).filter((s) => s !== ''))].slice(0, MAX_SKYWALKING_IDS);

      const warnings: string[] = [];
      const outcomes = await Promise.all(
        configs.map(async (apm) => {
          const ids = apm.name === 'skywalking' ? swIds : hex === '' ? [] : [hex];
          if (ids.length === 0) {
            return { apm, outcome: { kind: 'failed', reason: `trace id ${JSON.stringify(traceId.slice(0, 80))} is not a hex id` } as Outcome, fromCache: false };
          }
          const c = cached(apm, ids);
          return { apm, outcome: await c.outcome, fromCache: c.fromCache };
        }),
      );

      const spans: SpanRecord[] = [];
      const seen = new Set<string>();
      for (const { apm, outcome, fromCache } of outcomes) {
        const label = `${apm.name} (${apm.url})`;
        if (outcome.kind === 'failed') warnings.push(`${label}: ${outcome.reason}${fromCache ? ' (remembered)' : ''}`);
        if (outcome.kind !== 'found') continue;
        if (outcome.note !== '') warnings.push(`${label}: ${outcome.note}`);
        // Callers own what they get (assembly adjusts times); the cached copy stays pristine.
        for (const s of structuredClone(outcome.spans)) {
          // Zipkin's shared spans give a client and a server half the same id; kind and service tell them apart.
          const key = `${s.traceId}\u0000${s.spanId}\u0000${s.kind}\u0000${s.service}`;
          if (seen.has(key)) continue;
          seen.add(key);
          spans.push(s);
        }
      }
      return { spans, warnings };
    },
  };
}
