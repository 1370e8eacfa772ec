/**
 * @module APM query-API responses → SpanRecords (integration 1): the public surface of src/apm/trace-api.
 */
export { convertJaegerTrace, parseJaegerTraceBody } from './jaeger-trace-api.js';
export { convertJaegerV3Trace, convertTempoTrace, parseJaegerV3TraceBody, parseTempoTraceBody } from './otlp-trace-api.js';
export { convertSkyWalkingQueryTrace, parseSkyWalkingQueryTraceBody, SKYWALKING_QUERY_TRACE } from './skywalking-trace-api.js';
export { convertZipkinTrace, parseZipkinTraceBody } from './zipkin-trace-api.js';
export type { TraceApiResult } from './trace-api-result.js';
