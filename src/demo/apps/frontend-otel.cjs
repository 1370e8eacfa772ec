// The demo's frontend, instrumented with the OpenTelemetry JS SDK (http auto-instrumentation):
// GET /checkout calls the backend's /order. Spans go to COLLECTOR (Weft's OTLP/HTTP base URL).
// CommonJS on purpose: the http instrumentation hooks require().
'use strict';
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const headers = process.env.COLLECTOR_TOKEN ? { authorization: `Bearer ${process.env.COLLECTOR_TOKEN}` } : {};
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': process.env.SERVICE_NAME || 'demo-frontend' }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${process.env.COLLECTOR}/v1/traces`, headers }))],
});
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

const http = require('http');
const { startFrontend } = require('./frontend-server.cjs');

const server = startFrontend(http, {
  port: process.env.PORT,
  backendUrl: process.env.BACKEND_URL,
  agent: new http.Agent({ keepAlive: true, maxSockets: 4 }),
});
const stop = () => {
  server.close();
  provider.shutdown().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
