/** @module The OTLP exporter of SYS/NET spans (integration 4): the public surface of src/exporter. */
export { createOtlpExporter, DEFAULT_EXPORTER_OPTIONS } from './otlp-exporter.js';
export type { ExportableTrace, ExporterStats, ExporterTimers, OtlpExporter, OtlpExporterOptions } from './otlp-exporter.js';
export { DEFAULT_EXPORT_FILTER, defaultExportFilter, EXPORT_FILTER_KEYS, formatExportFilter, matchesExportFilter, parseExportFilter } from './export-filter.js';
export type { ExportFilter, ExportFilterClause, ExportFilterKey, ExportFilterParse } from './export-filter.js';
export { createJsonSerializer, createProtobufSerializer, prepareExportSpans } from './otlp-serializer.js';
export type { ExportSpan, Serializer } from './otlp-serializer.js';
export { createHttpTransport, parseRetryAfterMs, RETRYABLE_HTTP_STATUSES, tracesUrl } from '../apm/otlp-transport/index.js';
export { createGrpcTransport, RETRYABLE_GRPC_CODES } from './grpc-transport.js';
export { createRetryingTransport, DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS } from '../apm/otlp-transport/index.js';
export type { RetryOptions, SendResult, Transport } from '../apm/otlp-transport/index.js';
