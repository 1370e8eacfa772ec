/**
 * @module OTLP traces ↔ SpanRecord: the public surface of src/apm/otlp.
 */
export { convertOtlpRequest, decodeOtlpJson, decodeOtlpJsonSteps, decodeOtlpProtobuf, decodeOtlpProtobufSteps, SPAN_KIND_NAMES, STATUS_CODE_NAMES } from './otlp-decode.js';
export type { OtlpDecodeOptions } from './otlp-decode.js';
export { encodeOtlpRequest, spanRecordsToOtlpRequest, toOtlpJson, WEFT_SCOPE_NAME } from './otlp-encode.js';
export type { OtlpJsonOptions } from './otlp-encode.js';
export { exportRequestType, exportResponseType, OTLP_EXPORT_METHOD_PATH } from './otlp-proto.js';
export { WEFT_PREFIX, WEFT_SOURCE_KEY, weftKey } from './weft-attributes.js';
