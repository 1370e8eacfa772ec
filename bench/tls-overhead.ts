/**
 * @module TLS and gRPC tracing cost, side by side in one run (alternating pairs so drift on a
 * shared machine cancels out):
 * - uprobe cost per SSL_read/SSL_write: Python's TLS (libssl.so.3) between two memory BIOs in
 *   one thread, timed per round trip with no eBPF, with the syscall programs only (`tls: false`),
 *   and with the TLS uprobes too; the last two's difference per SSL call is the uprobes' cost;
 * - HTTPS nginx req/s under wrk (both hooked: wrk is OpenSSL too), untraced and traced;
 * - a @grpc/grpc-js server's unary calls/s under a grpc-js load client, untraced and traced.
 * The server has CPU 0, the load and this process (the agent's capture) CPU 1, as in
 * ebpf-overhead.ts. Needs root, wrk, nginx, openssl, python3.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEbpfSource } from '../src/agent/ebpf/ebpf-source.js';
import { ebpfAvailability } from '../src/agent/ebpf/native.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`port ${port} never opened`);
}

function output(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'], env: env ?? process.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out.slice(0, 300)}`))));
  });
}

/**
 * Python TLS in one thread over memory BIOs (ssl.SSLObject): a client and a server exchange 64
 * bytes each way, with no syscall and no thread switch, so the time per round trip is OpenSSL's
 * and the uprobes' alone. Each round trip is two SSL_write_ex and two SSL_read_ex (plus the
 * reads that find nothing, which the uprobes see too: counted by the script). Prints
 * "ns_per_round_trip ssl_calls_per_round_trip".
 */
const PY_MEMORY_TLS = `
import ssl, sys, time
cert, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); sctx.load_cert_chain(cert, key)
cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); cctx.check_hostname = False; cctx.verify_mode = ssl.CERT_NONE
ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
c = cctx.wrap_bio(ci, co); s = sctx.wrap_bio(si, so, server_side=True)
def pump():
    d = co.read()
    if d: si.write(d)
    d = so.read()
    if d: ci.write(d)
for _ in range(20):
    for o in (c, s):
        try: o.do_handshake()
        except ssl.SSLWantReadError: pass
    pump()
m = b'x' * 64
calls = 0
def trip():
    global calls
    c.write(m); pump(); s.read(64); s.write(m); pump(); c.read(64); calls += 4
for _ in range(5000): trip()
calls = 0
t = time.perf_counter_ns()
for _ in range(n): trip()
print((time.perf_counter_ns() - t) / n, calls / n)
`;

const GRPC_SERVER = `
const grpc = require('@grpc/grpc-js');
const id = (b) => b;
const service = { Say: { path: '/bench.Echo/Say', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } };
const s = new grpc.Server();
s.addService(service, { Say: (call, cb) => cb(null, call.request) });
s.bindAsync('127.0.0.1:' + process.argv[1], grpc.ServerCredentials.createInsecure(), (e) => { if (e) throw e; });
`;

/** argv: port seconds inflight -> prints calls/s. */
const GRPC_LOAD = `
const grpc = require('@grpc/grpc-js');
const id = (b) => b;
const service = { Say: { path: '/bench.Echo/Say', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } };
const [port, seconds, inflight] = process.argv.slice(1).map(Number);
const C = grpc.makeGenericClientConstructor(service, 'Echo');
const c = new C('127.0.0.1:' + port, grpc.credentials.createInsecure());
const msg = Buffer.from('hello bench');
let done = 0; const end = Date.now() + seconds * 1000;
const loop = () => c.Say(msg, () => { done++; if (Date.now() < end) loop(); });
c.Say(msg, () => { const t = Date.now(); for (let i = 0; i < inflight; i++) loop(); const timer = setInterval(() => { if (Date.now() >= end) { clearInterval(timer); console.log(done / ((Date.now() - t) / 1000)); c.close(); } }, 50); });
`;

export interface TlsOverheadResult {
  /** ns per Python TLS round trip: no eBPF, syscalls traced, syscalls + TLS uprobes. */
  roundTripNs: { none: number; syscalls: number; tls: number };
  /** Added by the uprobes per SSL_read or SSL_write (the round trip has four). */
  uprobeNsPerCall: number;
  httpsNginx: { untracedRps: number; tracedRps: number; kept: number };
  grpc: { untracedCps: number; tracedCps: number; kept: number };
}

/** Runs `f` while an eBPF source (as the agent runs it, drained here) traces `opts`. */
async function whileTraced<T>(opts: Parameters<typeof createEbpfSource>[0], f: () => Promise<T>): Promise<{ value: T; events: number }> {
  const source = createEbpfSource(opts);
  let events = 0;
  const draining = (async () => {
    for await (const batch of source) events += batch.length;
  })();
  try {
    return { value: await f(), events };
  } finally {
    source.close();
    await draining;
  }
}

export async function runTlsOverheadBench(log: (line: string) => void = () => {}): Promise<TlsOverheadResult> {
  const availability = ebpfAvailability();
  if (!availability.ok) throw new Error(`TLS overhead bench needs eBPF: ${availability.reason}`);
  const rounds = Number(process.env['WEFT_BENCH_TLS_ROUNDS'] ?? 4);
  const seconds = Number(process.env['WEFT_BENCH_TLS_SECONDS'] ?? 3);
  const tmp = mkdtempSync(path.join(tmpdir(), 'weft-bench-tls-'));
  const key = path.join(tmp, 'key.pem');
  const cert = path.join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const children: ChildProcess[] = [];
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  try {
    // 1. uprobe cost per SSL call.
    const rt = { none: [] as number[], syscalls: [] as number[], tls: [] as number[] };
    let callsPerTrip = 4;
    const echo = async (): Promise<number> => {
      const [ns, calls] = (await output('taskset', ['-c', '0', 'python3', '-c', PY_MEMORY_TLS, cert, key, '50000'])).trim().split(/\s+/).map(Number);
      callsPerTrip = calls ?? 4;
      return ns ?? 0;
    };
    for (let r = 0; r < rounds; r++) {
      rt.none.push(await echo());
      rt.syscalls.push((await whileTraced({ tls: false }, echo)).value);
      rt.tls.push((await whileTraced({ tls: true }, echo)).value);
      log(`round trip: none ${rt.none.at(-1)?.toFixed(0)} ns, syscalls ${rt.syscalls.at(-1)?.toFixed(0)} ns, syscalls+tls ${rt.tls.at(-1)?.toFixed(0)} ns`);
    }
    const roundTripNs = { none: median(rt.none), syscalls: median(rt.syscalls), tls: median(rt.tls) };
    const uprobeNsPerCall = (roundTripNs.tls - roundTripNs.syscalls) / callsPerTrip;
    log(`uprobes: ${uprobeNsPerCall.toFixed(0)} ns per SSL_read/SSL_write (round trip ${roundTripNs.syscalls.toFixed(0)} -> ${roundTripNs.tls.toFixed(0)} ns; untraced ${roundTripNs.none.toFixed(0)} ns)`);

    // 2. HTTPS nginx under wrk.
    const port = await freePort();
    writeFileSync(
      path.join(tmp, 'nginx.conf'),
      `daemon off; master_process off; worker_processes 1; pid ${tmp}/nginx.pid; error_log ${tmp}/error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 10000000; keepalive_timeout 60s;
  client_body_temp_path ${tmp}; proxy_temp_path ${tmp}; fastcgi_temp_path ${tmp}; uwsgi_temp_path ${tmp}; scgi_temp_path ${tmp};
  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; location / { default_type text/plain; return 200 "ok\\n"; } } }
`,
    );
    const nginx = spawn('taskset', ['-c', '0', 'nginx', '-p', tmp, '-c', path.join(tmp, 'nginx.conf')], { stdio: 'ignore' });
    children.push(nginx);
    await waitListening(port);
    const wrk = async (): Promise<number> => {
      const out = await output('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${seconds}s`, `https://127.0.0.1:${port}/`]);
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (!m) throw new Error(`wrk output without Requests/sec: ${out}`);
      return Number(m[1]);
    };
    await wrk();
    const https = { u: [] as number[], t: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const u = await wrk();
      const t = (await whileTraced({ ports: [port], tls: true }, wrk)).value;
      https.u.push(u);
      https.t.push(t);
      log(`HTTPS nginx: untraced ${u.toFixed(0)} req/s, traced ${t.toFixed(0)} req/s`);
    }
    const httpsNginx = { untracedRps: median(https.u), tracedRps: median(https.t), kept: median(https.t.map((t, i) => t / (https.u[i] as number))) };

    // 3. gRPC unary calls.
    const gport = await freePort();
    const grpcServer = spawn('taskset', ['-c', '0', process.execPath, '-e', GRPC_SERVER, String(gport)], { cwd: REPO, stdio: 'ignore' });
    children.push(grpcServer);
    await waitListening(gport);
    const load = async (): Promise<number> => Number(await output('taskset', ['-c', '1', process.execPath, '-e', GRPC_LOAD, String(gport), String(seconds), '32']));
    await load();
    const grpcRuns = { u: [] as number[], t: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const u = await load();
      const t = (await whileTraced({ ports: [gport] }, load)).value;
      grpcRuns.u.push(u);
      grpcRuns.t.push(t);
      log(`gRPC: untraced ${u.toFixed(0)} calls/s, traced ${t.toFixed(0)} calls/s`);
    }
    const grpc = { untracedCps: median(grpcRuns.u), tracedCps: median(grpcRuns.t), kept: median(grpcRuns.t.map((t, i) => t / (grpcRuns.u[i] as number))) };
    log(`kept: HTTPS nginx ${(httpsNginx.kept * 100).toFixed(0)}%, gRPC ${(grpc.kept * 100).toFixed(0)}%`);
    return { roundTripNs, uprobeNsPerCall, httpsNginx, grpc };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    execFileSync('taskset', ['-a', '-p', '-c', `0-${cpus().length - 1}`, String(process.pid)], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  }
}
