// Two real Node HTTP services ("caller" and "callee") in one process, instrumented by the real
// SkyWalking Node agent (skywalking-backend-js), which reports segments over gRPC to
// SW_AGENT_COLLECTOR_BACKEND_SERVICES. The agent is a process-wide singleton, hence a child
// process. Prints "done" after one request went caller → callee; stays up (the agent reports
// every second) until killed.
'use strict';
const agent = require('skywalking-backend-js').default;
agent.start({ serviceName: process.env.SW_AGENT_NAME || 'weft-e2e-sw', maxBufferSize: 1000 });
const http = require('http'); // the agent hooks the bare module name

function get(port, path) {
  return new Promise((resolve, reject) => {
    // http.request (not http.get): the agent wraps module.request.
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

const callee = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('callee');
});
callee.listen(0, '127.0.0.1', () => {
  const caller = http.createServer((req, res) => {
    get(callee.address().port, '/callee').then(
      (code) => {
        res.writeHead(200);
        res.end(String(code));
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  });
  caller.listen(0, '127.0.0.1', async () => {
    await get(caller.address().port, '/caller');
    process.stdout.write('done\n');
    setInterval(() => {}, 1000);
  });
});
