/**
 * The query port's front door (front-door.ts): /healthz and /metrics are answered by its thread
 * even while the main thread is blocked; everything else reaches the main thread's server
 * unchanged, with the client's address.
 *
 * The main thread is blocked by running curl synchronously (execFileSync): while curl waits for
 * its answer, this thread runs nothing, exactly as a long GC pause or a long step would hold it.
 * A server on the main thread (the design before the front door) never answers then: curl's
 * timeout fires.
 */
import { execFileSync } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openFrontDoor, type FrontDoor } from './front-door.js';

const open: { server: Server; front: FrontDoor }[] = [];
afterEach(async () => {
  for (const { server, front } of open.splice(0)) {
    await front.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

async function start(opts: { token?: string; stalledMs?: number; scrape?: () => Promise<string> } = {}): Promise<{ url: string; front: FrontDoor; seen: { method: string; url: string; peer: string; body: string }[] }> {
  const seen: { method: string; url: string; peer: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', peer: req.socket.remoteAddress ?? '', body });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: 'main', url: req.url }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const front = await openFrontDoor({
    host: '127.0.0.1',
    port: 0,
    upstream: server,
    upstreamPort: (server.address() as AddressInfo).port,
    token: opts.token ?? null,
    store: 'memory',
    scrape: opts.scrape ?? (async () => `weft_test_scrapes ${Date.now()}\n`),
    headersTimeoutMs: 2000,
    idleTimeoutMs: 5000,
    ...(opts.stalledMs !== undefined ? { stalledMs: opts.stalledMs } : {}),
  });
  open.push({ server, front });
  return { url: `http://127.0.0.1:${front.port}`, front, seen };
}

/** curl run synchronously: this thread is blocked until it ends. */
function curlBlocking(args: string[]): { status: number; body: string; ms: number } {
  const t = performance.now();
  const out = execFileSync('curl', ['-s', '--max-time', '5', '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i), ms: performance.now() - t };
}

describe('query port front door', () => {
  it('answers /healthz while the main thread is blocked', async () => {
    const { url } = await start();
    const r = curlBlocking([`${url}/healthz`]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok', store: 'memory' });
    expect(r.ms).toBeLessThan(4000);
  });

  it('answers /metrics with the last scrape, and its age, while the main thread is blocked; fresh when it is free', async () => {
    let n = 0;
    const { url } = await start({ scrape: async () => `weft_test_scrape ${++n}\n` });
    const fresh = await fetch(`${url}/metrics`);
    expect(fresh.headers.get('content-type')).toContain('text/plain');
    expect(await fresh.text()).toBe('weft_test_scrape 1\n');
    const blocked = curlBlocking([`${url}/metrics`]);
    expect(blocked.status).toBe(200);
    expect(blocked.body).toMatch(/^weft_test_scrape 1\n/);
    expect(blocked.body).toMatch(/^weft_metrics_snapshot_age_seconds \d/m);
    // The late scrape asked for meanwhile is the one answered next.
    await new Promise((r) => setTimeout(r, 50));
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^weft_test_scrape [23]\n$/);
  });

  it('says when the main thread has stalled', async () => {
    const { url } = await start({ stalledMs: 300 });
    const out = execFileSync('sh', ['-c', `sleep 0.6; curl -s -w '\\n%{http_code}' ${url}/healthz`], { encoding: 'utf8' });
    expect(out.endsWith('\n503')).toBe(true);
    expect(JSON.parse(out.slice(0, out.lastIndexOf('\n')))).toMatchObject({ status: 'stalled', error: { code: 'TRC_SERVER_STALLED' } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('passes every other request through, with its body and the client address, also after front-door answers on one connection', async () => {
    const { url, seen } = await start();
    const post = await fetch(`${url}/api/v1/x?y=1`, { method: 'POST', body: 'hello' });
    expect(await post.json()).toEqual({ from: 'main', url: '/api/v1/x?y=1' });
    // One keep-alive connection: two health checks, then a query, then a health check (now answered by the main server).
    const replies = await rawExchange(url, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /api/v1/z HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    expect(replies).toContain('{"status":"ok","store":"memory"}');
    expect(replies).toContain('{"from":"main","url":"/api/v1/z"}');
    expect(replies).toContain('{"from":"main","url":"/healthz"}');
    // A /healthz with a body, or a POST, is the main server's to answer.
    await fetch(`${url}/healthz`, { method: 'POST', body: 'x' });
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /api/v1/x?y=1 hello', 'GET /api/v1/z ', 'GET /healthz ', 'POST /healthz x']);
    expect(seen.every((s) => s.peer === '127.0.0.1')).toBe(true);
    // A client from another address (127.0.0.2 is local on Linux): the main server sees that address, not the thread's.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/api/v1/from`, { localAddress: '127.0.0.2' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ url: '/api/v1/from', peer: '127.0.0.2' });
  });

  it('asks for the token on /metrics, not on /healthz', async () => {
    const { url } = await start({ token: 's3cret' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const denied = await fetch(`${url}/metrics`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('Bearer');
    expect(await denied.json()).toMatchObject({ error: { code: 'TRC_AUTH_UNAUTHORIZED' } });
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
  });

  it('fails to open on a port in use', async () => {
    const taken = createNetServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const upstream = createServer();
    await expect(
      openFrontDoor({ host: '127.0.0.1', port: (taken.address() as AddressInfo).port, upstream, upstreamPort: 1, token: null, store: 'memory', scrape: async () => '', headersTimeoutMs: 1000, idleTimeoutMs: 1000 }),
    ).rejects.toThrow(/EADDRINUSE/);
    await new Promise((r) => taken.close(r));
  });
});

/** Writes `requests` one after another on one connection (each after the previous answer began); returns everything read. */
function rawExchange(url: string, requests: string[]): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1');
    let got = '';
    let sent = 0;
    const sendNext = (): void => {
      const r = requests[sent++];
      if (r !== undefined) s.write(r);
    };
    s.on('connect', sendNext);
    s.on('data', (d: Buffer) => {
      got += d.toString();
      // One answer per request: count status lines.
      if ((got.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= sent) setTimeout(sendNext, 20);
    });
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}
