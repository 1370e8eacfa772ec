/**
 * @module Zipkin v2 → SpanRecord: the public surface of src/apm/zipkin.
 */
export { convertZipkinSpans, decodeZipkinJson, decodeZipkinJsonSteps, sharedServerSpanId } from './zipkin-decode.js';
