// A real Node app instrumented by the SkyWalking Node agent (skywalking-backend-js), run as a
// child process because the agent is a process-wide singleton. Server "front" calls server
// "back" over real HTTP; the agent reports the segments over gRPC to
// SW_AGENT_COLLECTOR_BACKEND_SERVICES. The process stays up (the agent reports every second)
// until the test kills it.
'use strict';
const agent = require('skywalking-backend-js').default;
agent.start({ serviceName: process.env.SW_AGENT_NAME || 'weft-sw-test', maxBufferSize: 1000 });
const http = require('http') // not 'node:http': the agent hooks the bare module name;

function get(port, path) {
  return new Promise((resolve, reject) => {
    // http.request, not http.get: the agent wraps module.request only.
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

const back = http.createServer((req, res) => {
  res.writeHead(201, { 'content-type': 'text/plain' });
  res.end('back');
});
back.listen(0, '127.0.0.1', () => {
  const backPort = back.address().port;
  const front = http.createServer((req, res) => {
    get(backPort, '/back?x=1').then(
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
  front.listen(0, '127.0.0.1', async () => {
    await get(front.address().port, '/front');
    process.stdout.write('done\n');
    setInterval(() => {}, 1000);
  });
});
