// A Node.js middle tier as people write it, knowing nothing of tracing: plain `http`, one
// keep-alive Agent to the leaf, random delays before and after the call, so the event loop
// interleaves many requests. `/work/<id>` calls `/leaf/<id>` once. Config by env: PORT, LEAF_PORT.
import { Agent, createServer, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const leafPort = Number(process.env.LEAF_PORT);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function callLeaf(id) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: leafPort, path: `/leaf/${id}`, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const server = createServer(async (req, res) => {
  const id = (req.url ?? '/').split('/').pop() ?? '';
  try {
    await sleep(Math.random() * 8);
    const body = await callLeaf(id);
    await sleep(Math.random() * 4);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(body);
  } catch (err) {
    res.writeHead(502);
    res.end(String(err));
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  agent.destroy();
  setTimeout(() => process.exit(0), 100).unref();
});
