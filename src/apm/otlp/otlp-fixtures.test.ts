/**
 * @module The recorded OTLP fixtures (JSON and protobuf) decode into the expected SpanRecords.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOtlpJson, decodeOtlpProtobuf } from './index.js';
import { SHARED_APM_FIXTURES } from '../testing/shared-fixtures.js';

const DIR = join(SHARED_APM_FIXTURES, 'otlp');
const read = (f: string): Buffer => readFileSync(join(DIR, f));

describe('OTLP fixtures', () => {
  it('opentelemetry-proto example decodes (hex ids, int64 strings)', () => {
    const r = decodeOtlpJson(read('opentelemetry-proto-examples-trace.json'));
    expect(r.rejected).toBe(0);
    expect(r.spans).toHaveLength(1);
    const s = r.spans[0];
    expect(s?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(s?.service).toBe('my.service');
    expect(s?.kind).toBe('server');
    expect(s?.observationPoint).toBe('s-app');
  });

  it('the same Envoy trace decodes identically from JSON and from protobuf', () => {
    const fromJson = decodeOtlpJson(read('otlp2parquet-trace.json'));
    const fromPb = decodeOtlpProtobuf(read('otlp2parquet-trace.ExportTraceServiceRequest.pb'));
    expect(fromJson.rejected).toBe(0);
    expect(fromPb.spans).toEqual(fromJson.spans);
    const ingress = fromJson.spans.find((s) => s.name === 'ingress');
    expect(ingress).toMatchObject({ kind: 'server', protocol: 'http', requestType: 'GET', service: 'frontend-proxy' });
    expect(ingress?.xRequestIdReq).not.toBe('');
    const egress = fromJson.spans.find((s) => s.kind === 'client');
    expect(egress?.parentSpanId === ingress?.spanId || egress?.spanId === ingress?.parentSpanId).toBe(true);
  });

  it('the multi-service demo trace decodes with rpc fields and parents inside the batch', () => {
    const r = decodeOtlpProtobuf(read('otlp2parquet-traces.ExportTraceServiceRequest.pb'));
    expect(r.rejected).toBe(0);
    expect(r.spans).toHaveLength(19);
    const grpc = r.spans.filter((s) => s.protocol === 'grpc');
    expect(grpc.length).toBeGreaterThan(0);
    for (const s of grpc) expect(s.requestResource).toContain('/');
    expect(new Set(r.spans.map((s) => s.service)).size).toBeGreaterThan(1);
  });
});
