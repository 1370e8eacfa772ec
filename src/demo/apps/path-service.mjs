// The Node service of the network-path demo (src/demo/network/network-path.ts): plain HTTP, no
// tracing code. Per request it writes and reads one Redis key named after the request path, so
// each request's Redis calls can be told apart in a trace. Config by env: HOST, PORT,
// REDIS_HOST, REDIS_PORT.
import { createServer } from 'node:http';
import Redis from 'ioredis';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`path-service: ${k} is required`);
  return v;
};

const redis = new Redis({ host: env('REDIS_HOST'), port: Number(env('REDIS_PORT')), enableAutoPipelining: false, maxRetriesPerRequest: 1 });

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://service');
  if (url.pathname === '/health') {
    res.end('ok');
    return;
  }
  const key = `path:${url.pathname.slice(1) || 'root'}`;
  redis
    .set(key, String(Date.now()))
    .then(() => redis.get(key))
    .then(
      (v) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ key, stored: v }));
      },
      (err) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err && err.message));
      },
    );
});
server.listen(Number(env('PORT')), env('HOST'));
