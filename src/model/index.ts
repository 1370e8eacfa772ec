/** @module Public surface of the model: the span record, ids and the error type. No dependencies. */
export * from './span.js';
export * from './errors.js';
export * from './ids.js';
