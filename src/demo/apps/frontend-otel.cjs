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
const backend = new URL(process.env.BACKEND_URL);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

const server = http.createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://frontend');
  if (url.pathname === '/health') return res.end('ok');
  const item = url.searchParams.get('item') || 'book';
  const call = http.request({ host: backend.hostname, port: backend.port, path: `/order?item=${encodeURIComponent(item)}`, agent }, (r) => {
    let body = '';
    r.on('data', (c) => (body += c));
    r.on('end', () => {
      res.writeHead(r.statusCode || 502, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  call.on('error', (err) => {
    res.writeHead(502);
    res.end(String(err.message));
  });
  call.end();
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.env.PORT), '127.0.0.1');
const stop = () => {
  server.close();
  provider.shutdown().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
