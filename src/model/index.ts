/** @module Public surface of the model: the span record, ids, the error type and the agent metrics report. No dependencies. */
export * from './span.js';
export * from './errors.js';
export * from './ids.js';
export * from './url-redaction.js';
export * from './agent-metrics-report.js';
export * from './net-path.js';
export * from './link-evidence.js';
