// The demo's frontend, instrumented with the SkyWalking Node agent (skywalking-backend-js):
// GET /checkout calls the backend's /order. Segments go over gRPC to COLLECTOR (host:port).
'use strict';
process.env.SW_AGENT_COLLECTOR_BACKEND_SERVICES = process.env.COLLECTOR;
if (process.env.COLLECTOR_TOKEN) process.env.SW_AGENT_AUTHENTICATION = process.env.COLLECTOR_TOKEN;
const sw = require('skywalking-backend-js').default;
sw.start({ serviceName: process.env.SERVICE_NAME || 'demo-frontend', maxBufferSize: 1000 });
const http = require('http'); // the agent hooks the bare module name

const backend = new URL(process.env.BACKEND_URL);
const server = http.createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://frontend');
  if (url.pathname === '/health') return res.end('ok');
  const item = url.searchParams.get('item') || 'book';
  // http.request, not http.get: the agent wraps module.request only.
  const call = http.request({ host: backend.hostname, port: backend.port, path: `/order?item=${encodeURIComponent(item)}`, method: 'GET' }, (r) => {
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
  setTimeout(() => process.exit(0), 1500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
