/**
 * @module TLS plaintext from the eBPF agent's SSL_read/SSL_write uprobes, with real programs:
 * curl → nginx over HTTPS (both on the system libssl.so.3), Python's ssl → nginx, and Node's
 * https client → a Node https server (node carries its own OpenSSL); HTTP/2 over TLS (h2 by
 * ALPN) with curl → nginx, Node's http2 client → its secure server (16 streams at once) and
 * @grpc/grpc-js over TLS (20 calls at once on one connection); and
 * processes that load libssl after the agent started (at exec, or by dlopen seconds later).
 * The certificate is made here with openssl. Each request carries a traceparent inside the encrypted stream: the
 * plaintext SYS spans must show method, path and status, say tls, carry that trace id, and the
 * server's span must link under the client's. Ciphertext gives no span of its own.
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { startTestWeft, type TestWeft } from '../../e2e/weft-harness.js';
import { BIG_ANSWER_BYTES, GRPC_CLIENT, GRPC_SERVER, h2PathFor, spawnNode, spawnProgram, traceIdOf, traceparentFor, type Spawned } from '../http2/programs.js';
import { ebpfUnavailable } from '../traced-topology.js';
import { stopChild } from '../../../src/demo/services/process-control.js';

const unavailable = ebpfUnavailable('TLS eBPF test');
const run = promisify(execFile);

interface ApiSpan {
  id: string;
  parentId: string | null;
  linkReason: string | null;
  observationPoint: string;
  processName: string;
  protocol: string;
  requestType: string;
  requestResource: string;
  responseCode: number | null;
  requestId: number | null;
  traceId: string;
  attributes: Record<string, unknown>;
}

async function waitPair(weft: TestWeft, traceId: string, ms = 15_000): Promise<ApiSpan[]> {
  const deadline = Date.now() + ms;
  let spans: ApiSpan[] = [];
  while (Date.now() < deadline) {
    const res = await fetch(`${weft.urls.query}/api/v1/traces/${traceId}`);
    if (res.status === 200) {
      spans = ((await res.json()) as { spans: ApiSpan[] }).spans;
      if (spans.some((s) => s.observationPoint === 'c-p') && spans.some((s) => s.observationPoint === 's-p') && spans.some((s) => s.parentId)) return spans;
    } else {
      await res.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return spans;
}

function expectTlsPair(spans: ApiSpan[], want: { client: string; server: string; path: string; status: number; protocol?: string }): void {
  const what = JSON.stringify(spans);
  expect(spans.map((s) => s.observationPoint).sort(), what).toEqual(['c-p', 's-p']);
  const c = spans.find((s) => s.observationPoint === 'c-p')!;
  const s = spans.find((x) => x.observationPoint === 's-p')!;
  for (const span of [c, s]) {
    expect(span, what).toMatchObject({ protocol: want.protocol ?? 'http', requestType: 'GET', requestResource: want.path, responseCode: want.status });
    expect(span.attributes['tls'], what).toBe(true);
  }
  expect(c.processName, what).toBe(want.client);
  expect(s.processName, what).toBe(want.server);
  expect(s.parentId, what).toBe(c.id);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const HTTPS_SERVER = `
const https = require('https');
const fs = require('fs');
const [key, cert] = process.argv.slice(1);
const s = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => { res.statusCode = req.url.startsWith('/missing') ? 404 : 200; res.end('secure ' + req.url); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

const HTTPS_CLIENT = `
const https = require('https');
const [port, path, tp] = process.argv.slice(1);
https.get({ host: '127.0.0.1', port: Number(port), path, rejectUnauthorized: false, headers: { traceparent: tp } }, (res) => { res.resume(); res.on('end', () => console.log('done ' + res.statusCode)); });
`;

/** HTTP/2 over TLS (h2 by ALPN): node's http2 secure server. */
const H2_SECURE_SERVER = `
const http2 = require('http2');
const fs = require('fs');
const [key, cert] = process.argv.slice(1);
const s = http2.createSecureServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) });
s.on('stream', (stream, h) => {
  const p = h[':path'];
  stream.respond({ ':status': p.startsWith('/missing') ? 404 : 200 });
  stream.end(p.startsWith('/big/') ? Buffer.alloc(${BIG_ANSWER_BYTES}, 'b') : 'secure h2 ' + p);
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

/** argv: port run n. n streams at once on one TLS connection; stream i goes to h2PathFor(i, true) (a quarter answered with 100 KiB). */
const H2_SECURE_CLIENT = `
const http2 = require('http2');
const [port, run, n] = process.argv.slice(1).map(Number);
const tp = ${traceparentFor.toString().replace('function traceparentFor', 'function')};
const path = ${h2PathFor.toString().replace('function h2PathFor', 'function')};
const session = http2.connect('https://127.0.0.1:' + port, { rejectUnauthorized: false });
const one = (i) => new Promise((resolve, reject) => {
  const req = session.request({ ':path': path(i, true), traceparent: tp(run, i) });
  req.on('data', () => {}); req.on('end', resolve); req.on('error', reject);
});
Promise.all(Array.from({ length: n }, (_, i) => one(i))).then(() => { session.close(); console.log('done ' + session.alpnProtocol); });
`;

describe.skipIf(unavailable !== null)('TLS plaintext through the eBPF agent (uprobes on OpenSSL)', () => {
  let weft: TestWeft;
  let agent: RunningAgent;
  const dir = mkdtempSync(join(tmpdir(), 'weft-tls-'));
  const procs: Spawned[] = [];
  const ports = { nginx: 0, node: 0, nginxH2: 0, nodeH2: 0, grpc: 0 };
  const pem = { key: '', cert: '' };
  const RUN = Math.floor(Math.random() * 0xffffff) + 1;

  beforeAll(async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'a.txt'), 'hello over tls\n');
    ports.nginx = await freePort();
    ports.nginxH2 = await freePort();
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${ports.nginx} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; root ${dir}; }
  server { listen 127.0.0.1:${ports.nginxH2} ssl http2; ssl_certificate ${cert}; ssl_certificate_key ${key}; root ${dir}; } }
`,
    );
    procs.push(spawnProgram('nginx', ['-c', join(dir, 'nginx.conf')]));
    const nodeServer = spawnNode(HTTPS_SERVER, [key, cert]);
    procs.push(nodeServer);
    ports.node = Number(await nodeServer.firstLine);
    const h2Server = spawnNode(H2_SECURE_SERVER, [key, cert]);
    procs.push(h2Server);
    ports.nodeH2 = Number(await h2Server.firstLine);
    pem.key = key;
    pem.cert = cert;
    const grpcServer = spawnNode(GRPC_SERVER.replace('grpc.ServerCredentials.createInsecure()', `grpc.ServerCredentials.createSsl(null, [{ private_key: require('fs').readFileSync(${JSON.stringify(key)}), cert_chain: require('fs').readFileSync(${JSON.stringify(cert)}) }], false)`));
    procs.push(grpcServer);
    ports.grpc = Number(await grpcServer.firstLine);
    weft = await startTestWeft();
    agent = await startAgent({ sink: weft.server.sink, interfaces: [], nodeHook: false, logger: pino({ level: 'silent' }), ebpf: { ports: Object.values(ports) } });
    // nginx has had time to start by now; make sure it answers.
    await run('curl', ['-sk', '-o', '/dev/null', `https://127.0.0.1:${ports.nginx}/a.txt`]);
  }, 60_000);

  afterAll(async () => {
    // SIGTERM first: nginx's master ends its workers then; a SIGKILLed master leaves them running.
    for (const p of procs) await stopChild(p.child).catch(() => undefined);
    await agent?.close();
    await weft?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('curl → nginx over HTTPS: plaintext c-p and s-p with method, path, status and the traceparent sent inside TLS', async () => {
    for (const [i, path, status] of [
      [0, '/a.txt', 200],
      [1, '/missing', 404],
    ] as const) {
      const tp = traceparentFor(RUN, i);
      await run('curl', ['-sk', '--http1.1', '-o', '/dev/null', '-H', `traceparent: ${tp}`, `https://127.0.0.1:${ports.nginx}${path}`]);
      expectTlsPair(await waitPair(weft, traceIdOf(tp)), { client: 'curl', server: 'nginx', path, status });
    }
  }, 60_000);

  /** Python lines that GET /a.txt from nginx over TLS with `tp` as the traceparent. */
  const pyGet = (tp: string): string => `import ssl, urllib.request as u
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
u.urlopen(u.Request('https://127.0.0.1:${ports.nginx}/a.txt', headers={'traceparent': '${tp}'}), context=ctx).read()`;

  /** Runs a Python script, then expects its GET's linked plaintext pair with nginx. */
  async function expectPythonPair(script: string, tp: string, env?: NodeJS.ProcessEnv): Promise<void> {
    await run('python3', ['-c', script], env ? { env } : {});
    const spans = await waitPair(weft, traceIdOf(tp));
    const client = spans.find((s) => s.observationPoint === 'c-p');
    expectTlsPair(spans, { client: client?.processName.startsWith('python') ? client.processName : 'python3', server: 'nginx', path: '/a.txt', status: 200 });
  }

  /** A copy of the system libssl in a directory of its own: a file no uprobe is on yet. */
  function libsslCopy(name: string): string {
    const lib = join(dir, name);
    execFileSync('mkdir', ['-p', lib]);
    execFileSync('cp', ['/usr/lib/x86_64-linux-gnu/libssl.so.3', join(lib, 'libssl.so.3')]);
    return lib;
  }

  it('python (ssl module, libssl.so.3) → nginx over HTTPS', async () => {
    const tp = traceparentFor(RUN, 10);
    await expectPythonPair(pyGet(tp), tp);
  }, 60_000);

  it('a process started later with its own copy of libssl (another file) is hooked at exec', async () => {
    const lib = libsslCopy('lib');
    const tp = traceparentFor(RUN, 30);
    // The copy is loaded by dlopen on `import ssl` right at start; the request waits past the
    // agent's looks at the new process's maps (up to 1 s after exec).
    const script = `import time, ssl
assert any('${lib}' in l for l in open('/proc/self/maps')), 'the copy of libssl was not loaded'
time.sleep(1.5)
${pyGet(tp)}`;
    await expectPythonPair(script, tp, { ...process.env, LD_LIBRARY_PATH: lib });
  }, 60_000);

  it('a running process that loads libssl late (dlopen 5 s after start, its own copy: a file not hooked yet) is hooked when it maps it', async () => {
    const lib = libsslCopy('late-lib');
    const tp = traceparentFor(RUN, 40);
    // Nothing TLS is loaded at exec: the agent's looks at a new process (up to 1 s after exec)
    // find no libssl. `import ssl` at 5 s dlopens _ssl and with it the copy; the kernel reports
    // that mapping and the agent hooks the new file. The request follows 0.3 s later.
    const script = `import time
maps = lambda: open('/proc/self/maps').read()
assert 'libssl' not in maps(), 'libssl was loaded at start'
time.sleep(5)
import ssl
assert '${lib}' in maps(), 'the copy of libssl was not loaded'
time.sleep(0.3)
${pyGet(tp)}`;
    await expectPythonPair(script, tp, { ...process.env, LD_LIBRARY_PATH: lib });
  }, 60_000);

  it('curl --http2 → nginx over TLS (h2 by ALPN): plaintext HTTP/2 spans with method, path, status and the traceparent', async () => {
    for (const [i, path, status] of [
      [50, '/a.txt', 200],
      [51, '/missing', 404],
    ] as const) {
      const tp = traceparentFor(RUN, i);
      const { stdout } = await run('curl', ['-sk', '--http2', '-o', '/dev/null', '-w', '%{http_version}', '-H', `traceparent: ${tp}`, `https://127.0.0.1:${ports.nginxH2}${path}`]);
      expect(stdout).toBe('2');
      expectTlsPair(await waitPair(weft, traceIdOf(tp)), { client: 'curl', server: 'nginx', path, status, protocol: 'http2' });
    }
  }, 60_000);

  it("Node's http2 client → a Node http2 secure server: 16 streams at once on one TLS connection (4 answered with 100 KiB), each its own linked pair", async () => {
    const run16 = RUN + 60;
    const client = spawnNode(H2_SECURE_CLIENT, [ports.nodeH2, run16, 16]);
    expect(await client.firstLine).toBe('done h2');
    const ids = new Set<number | null>();
    for (let i = 0; i < 16; i++) {
      const spans = await waitPair(weft, traceIdOf(traceparentFor(run16, i)));
      // The 100 KiB answers leave in SSL_writes far past 16 KiB: the walk keeps their headers.
      expectTlsPair(spans, { client: 'node', server: 'node', path: h2PathFor(i, true), status: i % 4 === 3 ? 404 : 200, protocol: 'http2' });
      const c = spans.find((x) => x.observationPoint === 'c-p')!;
      expect(spans.find((x) => x.observationPoint === 's-p')!.requestId).toBe(c.requestId);
      ids.add(c.requestId);
    }
    expect(ids.size).toBe(16);
  }, 60_000);

  it('@grpc/grpc-js over TLS: 12 unary and 8 server-streaming calls at once on one connection, each its own linked pair with service, method and grpc-status', async () => {
    const runG = RUN + 70;
    const code = GRPC_CLIENT.replace('grpc.credentials.createInsecure()', `grpc.credentials.createSsl(require('fs').readFileSync(${JSON.stringify(pem.cert)}))`);
    expect(code).toContain('createSsl');
    const client = spawnNode(code, [ports.grpc, runG, 12, 8, 1]);
    expect(await client.firstLine).toBe('done');
    const ids = new Set<number | null>();
    for (const i of [...Array.from({ length: 12 }, (_, k) => k), ...Array.from({ length: 8 }, (_, k) => 100 + k)]) {
      const spans = await waitPair(weft, traceIdOf(traceparentFor(runG, i)));
      const what = JSON.stringify(spans);
      expect(spans.map((s) => s.observationPoint).sort(), what).toEqual(['c-p', 's-p']);
      const c = spans.find((s) => s.observationPoint === 'c-p')!;
      const s = spans.find((x) => x.observationPoint === 's-p')!;
      expect(s.parentId, what).toBe(c.id);
      for (const span of [c, s]) {
        expect(span, what).toMatchObject({
          protocol: 'grpc',
          requestType: 'POST',
          requestResource: i < 100 ? '/weft.e2e.Greeter/Say' : '/weft.e2e.Greeter/Count',
          responseCode: i < 100 && i % 5 === 4 ? 5 : 0,
          requestId: c.requestId,
          processName: 'node',
        });
        expect(span.attributes['tls'], what).toBe(true);
      }
      ids.add(c.requestId);
    }
    expect(ids.size).toBe(20);
  }, 60_000);

  it("Node's https client → a Node https server (node's own OpenSSL, memory BIOs)", async () => {
    for (const [i, path, status] of [
      [20, '/hello', 200],
      [21, '/missing/x', 404],
    ] as const) {
      const tp = traceparentFor(RUN, i);
      const client = spawnNode(HTTPS_CLIENT, [ports.node, path, tp]);
      expect(await client.firstLine).toBe(`done ${status}`);
      expectTlsPair(await waitPair(weft, traceIdOf(tp)), { client: 'node', server: 'node', path, status });
    }
  }, 60_000);
});
