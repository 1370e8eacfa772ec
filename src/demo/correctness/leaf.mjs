// The leaf of the correctness topology: answers any path after a random 1–15 ms, echoing the
// request id (the last path segment), so responses overlap in the middle tier.
// No tracing code. Config by env: PORT.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const id = (req.url ?? '/').split('/').pop() ?? '';
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`leaf ${id}\n`);
  }, 1 + Math.random() * 14);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  setTimeout(() => process.exit(0), 100).unref();
});
