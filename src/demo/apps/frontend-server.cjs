// The demo frontend's HTTP server, shared by the OpenTelemetry and SkyWalking variants. Each
// variant starts its agent first and passes in the `http` module it instrumented: both agents
// hook require('http'), so the module must come from the caller, after instrumentation.
'use strict';

/** Serves GET /checkout?item=… by calling the backend's /order; returns the server. */
function startFrontend(http, options) {
  const backend = new URL(options.backendUrl);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url || '/', 'http://frontend');
    if (url.pathname === '/health') return res.end('ok');
    const item = url.searchParams.get('item') || 'book';
    // http.request, not http.get: the SkyWalking agent wraps module.request only.
    const call = http.request(
      { host: backend.hostname, port: backend.port, path: `/order?item=${encodeURIComponent(item)}`, method: 'GET', agent: options.agent },
      (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => {
          res.writeHead(r.statusCode || 502, { 'content-type': 'application/json' });
          res.end(body);
        });
      },
    );
    call.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err.message));
    });
    call.end();
  });
  server.keepAliveTimeout = 60000;
  server.listen(Number(options.port), '127.0.0.1');
  return server;
}

module.exports = { startFrontend };
