/**
 * @module OTLP/JSON as clients really send it: hex or base64 ids, int or named enums, int64 as
 * strings or numbers, camelCase or snake_case keys, old and new semantic conventions.
 */
import { describe, expect, it } from 'vitest';
import { convertOtlpRequest } from './index.js';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';
const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

function request(span: Record<string, unknown>, snake = false): unknown {
  return snake
    ? { resource_spans: [{ resource: { attributes: [{ key: 'service.name', value: { string_value: 'x' } }] }, scope_spans: [{ spans: [span] }] }] }
    : { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ scope: { name: 'lib' }, spans: [span] }] }] };
}

describe('OTLP/JSON dialects', () => {
  it('base64 ids, named enums, numeric int64 (exact in a double) read the same as hex ids, int enums, string int64', () => {
    const a = convertOtlpRequest(request({ traceId: TRACE, spanId: SPAN, parentSpanId: PARENT, name: 'n', kind: 3, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000001024', status: { code: 2, message: 'bad' } }));
    const b = convertOtlpRequest(request({ traceId: b64(TRACE), spanId: b64(SPAN), parentSpanId: b64(PARENT), name: 'n', kind: 'SPAN_KIND_CLIENT', startTimeUnixNano: 1700000000000000000, endTimeUnixNano: 1700000000000001024, status: { code: 'STATUS_CODE_ERROR', message: 'bad' } }));
    expect(a.rejected).toBe(0);
    expect(b.spans).toEqual(a.spans);
    expect(a.spans[0]).toMatchObject({ traceId: TRACE, spanId: SPAN, parentSpanId: PARENT, kind: 'client', observationPoint: 'c-app', statusCode: 'error', responseStatus: 'server_error', responseException: 'bad', source: 'app', origin: 'otlp' });
  });

  it('old and new semantic conventions map to the same L7 fields', () => {
    const attrs = (kv: Record<string, unknown>): { key: string; value: unknown }[] =>
      Object.entries(kv).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } }));
    const base = { traceId: TRACE, spanId: SPAN, name: 'q', kind: 3, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000001000' };
    const oldHttp = convertOtlpRequest(request({ ...base, attributes: attrs({ 'http.method': 'POST', 'http.status_code': 201, 'http.target': '/a?b', 'net.peer.name': 'api', 'net.peer.ip': '10.0.0.1', 'net.peer.port': 8443 }) })).spans[0];
    const newHttp = convertOtlpRequest(request({ ...base, attributes: attrs({ 'http.request.method': 'POST', 'http.response.status_code': 201, 'url.path': '/a?b', 'server.address': 'api', 'network.peer.address': '10.0.0.1', 'server.port': 8443 }) })).spans[0];
    for (const s of [oldHttp, newHttp]) {
      expect(s).toMatchObject({ protocol: 'http', requestType: 'POST', responseCode: 201, responseStatus: 'ok', requestResource: '/a?b', requestDomain: 'api', serverIp: '10.0.0.1', serverPort: 8443, ipVersion: 4 });
    }
    const oldDb = convertOtlpRequest(request({ ...base, attributes: attrs({ 'db.system': 'mysql', 'db.statement': 'UPDATE t SET a=1', 'db.operation': 'UPDATE' }) })).spans[0];
    const newDb = convertOtlpRequest(request({ ...base, attributes: attrs({ 'db.system.name': 'mysql', 'db.query.text': 'UPDATE t SET a=1', 'db.operation.name': 'UPDATE' }) })).spans[0];
    for (const s of [oldDb, newDb]) expect(s).toMatchObject({ protocol: 'mysql', requestType: 'UPDATE', requestResource: 'UPDATE t SET a=1' });
    const redis = convertOtlpRequest(request({ ...base, attributes: attrs({ 'db.system': 'redis', 'db.statement': 'GET k' }) })).spans[0];
    expect(redis).toMatchObject({ protocol: 'redis', requestType: 'GET' });
    const rpc = convertOtlpRequest(request({ ...base, attributes: attrs({ 'rpc.system': 'grpc', 'rpc.service': 'shop.Cart', 'rpc.method': 'Add', 'rpc.grpc.status_code': 5 }) })).spans[0];
    expect(rpc).toMatchObject({ protocol: 'grpc', requestType: 'Add', requestResource: 'shop.Cart/Add', requestDomain: 'shop.Cart', responseCode: 5 });
    const msg = convertOtlpRequest(request({ ...base, kind: 4, attributes: attrs({ 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'messaging.operation': 'publish' }) })).spans[0];
    expect(msg).toMatchObject({ protocol: 'kafka', requestType: 'publish', requestResource: 'orders', observationPoint: 'c-app' });
  });

  it('snake_case keys, arrays and kvlists as JSON strings, bad ids rejected with a reason', () => {
    const r = convertOtlpRequest(
      request(
        {
          trace_id: TRACE, span_id: SPAN, name: 'x', start_time_unix_nano: '1', end_time_unix_nano: '2',
          attributes: [{ key: 'tags', value: { array_value: { values: [{ string_value: 'a' }] } } }, { key: 'm', value: { kvlistValue: { values: [{ key: 'k', value: { intValue: '9007199254740993' } }] } } }],
        },
        true,
      ),
    );
    expect(r.spans[0]?.service).toBe('x');
    expect(r.spans[0]?.attributes.m).toBe('{"k":"9007199254740993"}');
    const bad = convertOtlpRequest(request({ traceId: 'abc', spanId: SPAN, startTimeUnixNano: '1', endTimeUnixNano: '2' }));
    expect(bad.rejected).toBe(1);
    expect(bad.errors[0]).toContain('trace id');
  });
});
