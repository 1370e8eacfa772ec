// One real Node HTTP service instrumented with the OpenTelemetry JS SDK (NodeTracerProvider +
// instrumentation-http), exporting to Weft with the exporter named in argv. Run as a child process
// because the http instrumentation patches the process-wide `http` module.
//
// argv: NAME EXPORTER(http-proto|http-json|grpc) ENDPOINT [DOWNSTREAM_PORT]
// Prints "listening PORT". GET / calls the downstream service (if any) and answers with the
// trace id. On SIGTERM it flushes the exporter (awaiting Weft's acknowledgement) and exits 0.
'use strict';
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const api = require('@opentelemetry/api');

const [name, exporterKind, endpoint, downstream] = process.argv.slice(2);

function exporter() {
  switch (exporterKind) {
    case 'http-proto':
      return new (require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter)({ url: `${endpoint}/v1/traces` });
    case 'http-json':
      return new (require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter)({ url: `${endpoint}/v1/traces` });
    case 'grpc':
      return new (require('@opentelemetry/exporter-trace-otlp-grpc').OTLPTraceExporter)({ url: endpoint });
    default:
      throw new Error(`unknown exporter ${exporterKind}`);
  }
}

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': name }),
  spanProcessors: [new SimpleSpanProcessor(exporter())],
});
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

const http = require('http'); // after registration, so the instrumentation patches it

function callDownstream(port) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), path: `/from-${name}`, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const server = http.createServer((req, res) => {
  const traceId = api.trace.getActiveSpan()?.spanContext().traceId ?? '';
  const done = () => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(traceId);
  };
  if (downstream) callDownstream(downstream).then(done, (err) => {
    res.writeHead(502);
    res.end(String(err));
  });
  else done();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));

process.on('SIGTERM', () => {
  server.close();
  provider.forceFlush().then(() => provider.shutdown()).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`flush failed: ${err}\n`);
      process.exit(1);
    },
  );
});
