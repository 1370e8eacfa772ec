/**
 * A plain Node.js middle tier that knows nothing of Weft (no require of ours, no flags): GET
 * /req/ID waits a random moment, calls the backend's /backend/ID through a keep-alive agent with
 * few sockets (so requests queue and are flushed from other requests' callbacks), waits again,
 * and, when REDIS_PORT is set, GETs k:ID from Redis on one shared ioredis connection.
 * POST /post/ID reads its body and calls the backend from the body's `end` callback. A raw TCP
 * server (line protocol: "ID\n" in, one line out) calls the backend per line.
 * HANDLE_SIGUSR1=1 makes it take SIGUSR1 for itself (as some apps do for log rotation), which
 * keeps Node from opening its inspector on that signal.
 * Prints {"port": N, "rawPort": M} once both listen.
 */
'use strict';
const http = require('node:http');
const net = require('node:net');

const backendPort = Number(process.env.BACKEND_PORT);
const redisPort = Number(process.env.REDIS_PORT || 0);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(process.env.MAX_SOCKETS || 4) });
const redis = redisPort > 0 ? new (require('ioredis'))({ host: '127.0.0.1', port: redisPort, lazyConnect: false }) : null;

let sigusr1 = 0;
if (process.env.HANDLE_SIGUSR1 === '1') process.on('SIGUSR1', () => sigusr1++);

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function backend(path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: backendPort, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/sigusr1') {
    res.end(String(sigusr1));
    return;
  }
  const post = /^\/post\/([\w-]+)$/.exec(req.url || '');
  if (post && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      backend(`/backend/${post[1]}`).then(
        (b) => res.end(`${post[1]} ${body.length} ${b}`),
        (err) => {
          res.statusCode = 502;
          res.end(String(err));
        },
      );
    });
    return;
  }
  const m = /^\/req\/([\w-]+)$/.exec(req.url || '');
  if (!m) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const id = m[1];
  try {
    await delay(Math.random() * 10);
    const body = await backend(`/backend/${id}`);
    await delay(Math.random() * 5);
    const cached = redis ? await redis.get(`k:${id}`) : '';
    res.end(`${id} ${body} ${cached || ''}`);
  } catch (err) {
    res.statusCode = 502;
    res.end(String(err));
  }
});
server.keepAliveTimeout = 30_000;

const raw = net.createServer((socket) => {
  let carry = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop();
    for (const id of lines) {
      setTimeout(() => {
        backend(`/backend/${id}`).then(
          (b) => socket.write(`${id} ${b}\n`),
          (err) => socket.write(`${id} error ${err}\n`),
        );
      }, Math.random() * 10);
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  raw.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port, rawPort: raw.address().port })}\n`);
  });
});
