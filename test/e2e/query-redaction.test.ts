/**
 * @module Query-string redaction (issue 8, B): on a recorded curl → nginx capture with secrets in
 * its query strings, through the agent's session table; on spans the real OpenTelemetry SDK
 * reports to the OTLP receiver; and with the list configured (WEFT_REDACT_QUERY_PARAMS).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { importCapture } from '../../src/agent/capture/pcap/import-capture.js';
import { otlpHttpReceiver } from '../../src/server/ingest/index.js';
import { createFakeSink } from '../../src/server/ingest/testing/fake-sink.js';
import type { SpanRecord } from '../../src/model/index.js';
import { createQueryRedactor, DEFAULT_SECRET_QUERY_PARAMS, secretQueryParamsFromEnv, setSecretQueryParams } from '../../src/model/url-redaction.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CAPTURE = readFileSync(join(HERE, '../../src/agent/protocols/http1/testdata/curl-query-secrets.pcap'));
const SECRETS = ['tok-s3cret', 'k3y-s3cret', 'abcd1234', 'hunter2', 'zz9'];

async function netSpans(): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  await importCapture(CAPTURE, { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
  return spans;
}

afterEach(() => setSecretQueryParams(DEFAULT_SECRET_QUERY_PARAMS));

describe('query-string redaction', () => {
  it('NET spans from a real capture carry no secret parameter values, by default', async () => {
    const spans = await netSpans();
    expect(spans.map((s) => s.requestResource)).toEqual([
      '/a.txt?token=[REDACTED]&x=1',
      '/a.txt?api_key=[REDACTED]&page=2',
      '/a.txt?X-Amz-Signature=[REDACTED]&X-Amz-Date=20260101T000000Z',
      '/a.txt?user=bob&password=[REDACTED]&sig=[REDACTED]',
    ]);
    const text = JSON.stringify(spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const s of SECRETS) expect(text).not.toContain(s);
  });

  it('the list is configurable: WEFT_REDACT_QUERY_PARAMS replaces it; empty turns it off', async () => {
    expect(secretQueryParamsFromEnv({})).toEqual([...DEFAULT_SECRET_QUERY_PARAMS]);
    setSecretQueryParams(secretQueryParamsFromEnv({ WEFT_REDACT_QUERY_PARAMS: 'user, page' }));
    expect((await netSpans()).map((s) => s.requestResource)).toEqual([
      '/a.txt?token=tok-s3cret&x=1',
      '/a.txt?api_key=k3y-s3cret&page=[REDACTED]',
      '/a.txt?X-Amz-Signature=abcd1234&X-Amz-Date=20260101T000000Z',
      '/a.txt?user=[REDACTED]&password=hunter2&sig=zz9',
    ]);
    setSecretQueryParams(secretQueryParamsFromEnv({ WEFT_REDACT_QUERY_PARAMS: '' }));
    expect((await netSpans())[0]?.requestResource).toBe('/a.txt?token=tok-s3cret&x=1');
  });

  it('APP spans from the real OpenTelemetry SDK: url.full, url.query and the resource are redacted', async () => {
    const sink = createFakeSink();
    const app = Fastify();
    await app.register(otlpHttpReceiver, { sink, maxBodyBytes: 1 << 20 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'redaction-test' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces` }))],
    });
    try {
      const span = provider.getTracer('t').startSpan('GET', {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/v1/items?access_token=at-s3cret&limit=5', 'url.query': 'access_token=at-s3cret&limit=5' },
      });
      span.end();
      await provider.forceFlush();
      const [got] = await sink.waitFor(1);
      expect(got?.requestResource).toBe('/v1/items?access_token=[REDACTED]&limit=5');
      expect(got?.attributes['url.full']).toBe('https://api.example.com/v1/items?access_token=[REDACTED]&limit=5');
      expect(got?.attributes['url.query']).toBe('access_token=[REDACTED]&limit=5');
    } finally {
      await provider.shutdown();
      await app.close();
    }
  });

  it('matches names and their parts case-insensitively, keeps fragments and empty values', () => {
    const r = createQueryRedactor(DEFAULT_SECRET_QUERY_PARAMS);
    expect(r('/p?Client_Secret=x&monkey=banana#frag')).toBe('/p?Client_Secret=[REDACTED]&monkey=banana#frag');
    expect(r('/p?token=&a=1')).toBe('/p?token=&a=1');
    expect(r('/p?keys')).toBe('/p?keys');
    expect(r('/no/query')).toBe('/no/query');
    expect(r('/p?x%5Fauth=1')).toBe('/p?x%5Fauth=[REDACTED]');
  });
});
