/**
 * @module OTLP/HTTP transport: POST {url}/v1/traces, gzip-compressed, via fetch.
 *
 * 2xx is success; 429, 502, 503 and 504 are retryable (with Retry-After honoured, OTLP spec
 * "Retryable response codes"); network errors and timeouts are retryable; anything else fails.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { SendResult, Transport } from './transport.js';

const gzipAsync = promisify(gzip);

export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const MS_PER_S = 1000;

export interface HttpTransportOptions {
  /** Base URL (`http://collector:4318`) or the full traces URL (`…/v1/traces`). */
  url: string;
  contentType: string;
  headers?: Record<string, string>;
  /** Default true. */
  compress?: boolean;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The traces endpoint: the URL itself when it already ends in /v1/traces, else that path appended. */
export function tracesUrl(url: string): string {
  const u = new URL(url);
  if (!u.pathname.endsWith('/v1/traces')) u.pathname = u.pathname.replace(/\/+$/, '') + '/v1/traces';
  return u.toString();
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or bad. */
export function parseRetryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * MS_PER_S;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export function createHttpTransport(o: HttpTransportOptions): Transport {
  const endpoint = tracesUrl(o.url);
  const doFetch = o.fetch ?? fetch;
  const now = o.now ?? Date.now;
  const compress = o.compress ?? true;
  return {
    async send(bytes, timeoutMs): Promise<SendResult> {
      try {
        const body = compress ? await gzipAsync(bytes) : bytes;
        const headers: Record<string, string> = { ...o.headers, 'content-type': o.contentType };
        if (compress) headers['content-encoding'] = 'gzip';
        const payload = new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength);
        const res = await doFetch(endpoint, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
        const text = (await res.text()).slice(0, 300);
        if (res.ok) return { status: 'success' };
        const error = new Error(`OTLP/HTTP ${endpoint} answered ${res.status}${text === '' ? '' : `: ${text}`}`);
        if (!RETRYABLE_HTTP_STATUSES.has(res.status)) return { status: 'failure', error };
        const retryAfterMs = parseRetryAfterMs(res.headers.get('retry-after'), now());
        return retryAfterMs === undefined ? { status: 'retryable', error } : { status: 'retryable', retryAfterMs, error };
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const code = e.cause instanceof Error ? ` (${(e.cause as NodeJS.ErrnoException).code ?? e.cause.message})` : '';
        const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message}${code}`;
        return { status: 'retryable', error: new Error(`OTLP/HTTP ${endpoint}: ${why}`, { cause: err }) };
      }
    },
    shutdown: () => Promise.resolve(),
  };
}
