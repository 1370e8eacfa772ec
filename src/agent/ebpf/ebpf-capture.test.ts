/**
 * @module End-to-end test of the eBPF capture path against real processes on 127.0.0.1: a Node
 * HTTP server, curl, nginx as a reverse proxy, dnsmasq and dig. Runs as root; when CI=true and
 * eBPF is unavailable it FAILS instead of skipping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EbpfEvent, SyscallEvent } from './decode-events.js';
import { createEbpfSource, type EbpfSource } from './ebpf-source.js';
import { ebpfAvailability } from './native.js';

const availability = ebpfAvailability();
const inCi = process.env.CI === 'true';

/** Collects every batch and lets a test await the first event matching a predicate. */
class Collector {
  readonly events: EbpfEvent[] = [];
  private waiters: { pred: (e: EbpfEvent) => boolean; resolve: (e: EbpfEvent) => void }[] = [];

  async drain(source: EbpfSource): Promise<void> {
    for await (const batch of source) {
      for (const e of batch) {
        this.events.push(e);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(e)) return true;
          w.resolve(e);
          return false;
        });
      }
    }
  }

  waitFor(what: string, pred: (e: SyscallEvent) => boolean, timeoutMs = 15_000): Promise<SyscallEvent> {
    const p = (e: EbpfEvent): e is SyscallEvent => e.kind === 'data' && pred(e as SyscallEvent);
    const seen = this.events.find(p);
    if (seen) return Promise.resolve(seen as SyscallEvent);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no eBPF event: ${what}`)), timeoutMs);
      this.waiters.push({
        pred: p,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as SyscallEvent);
        },
      });
    });
  }
}

const text = (e: SyscallEvent): string => Buffer.from(e.payload).toString('latin1');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Run a command to completion; resolves with its pid and stdout. */
function run(cmd: string, args: string[]): Promise<{ pid: number; stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ pid: child.pid ?? 0, stdout, code }));
  });
}

/** Start a long-running process and wait until `ready` matches its output. */
function start(cmd: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before ready: ${out}`)));
  });
}

/** Wait until something accepts TCP connections on 127.0.0.1:port. */
async function tcpReady(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`nothing listening on ${port}`);
}

const NODE_SERVER = `
const http = require('http');
const s = http.createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('hello from node'); });
s.keepAliveTimeout = 1000;
s.listen(0, process.argv[1] || '127.0.0.1', () => console.log('PORT=' + s.address().port));
`;

describe.skipIf(!availability.ok && !inCi)('eBPF capture (real processes)', () => {
  let source: EbpfSource;
  const collector = new Collector();
  let draining: Promise<void>;
  let tmp: string;
  let node: ChildProcess;
  let nodePort = 0;
  let nginx: ChildProcess;
  let nginxPort = 0;
  let dnsmasq: ChildProcess;
  let dnsPort = 0;
  let node6: ChildProcess;
  let node6Port = 0;

  beforeAll(async () => {
    if (!availability.ok) throw new Error(`eBPF is unavailable in CI: ${availability.reason}`);
    tmp = mkdtempSync(path.join(tmpdir(), 'weft-ebpf-'));
    const started = await start(process.execPath, ['-e', NODE_SERVER], /PORT=(\d+)/);
    node = started.child;
    nodePort = Number(started.match[1]);

    const started6 = await start(process.execPath, ['-e', NODE_SERVER, '::1'], /PORT=(\d+)/);
    node6 = started6.child;
    node6Port = Number(started6.match[1]);

    nginxPort = await freePort();
    writeFileSync(
      path.join(tmp, 'nginx.conf'),
      `daemon off; master_process off; worker_processes 1; pid ${tmp}/nginx.pid; error_log ${tmp}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fcgi;
  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  upstream backend { server 127.0.0.1:${nodePort}; keepalive 4; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
    );
    nginx = spawn('nginx', ['-p', tmp, '-c', path.join(tmp, 'nginx.conf')], { stdio: 'ignore' });
    await tcpReady(nginxPort);

    dnsPort = await freePort();
    const dnsStarted = await start(
      'dnsmasq',
      ['-k', '--user=root', `--port=${dnsPort}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--address=/weft.test/10.1.2.3', `--pid-file=${tmp}/dnsmasq.pid`, '--log-facility=-'],
      /started|compile time options/,
    );
    dnsmasq = dnsStarted.child;

    source = createEbpfSource({ ports: [nodePort, nginxPort, dnsPort, node6Port] });
    draining = collector.drain(source);
  });

  afterAll(async () => {
    source?.close();
    await draining;
    for (const c of [node, node6, nginx, dnsmasq]) if (c?.pid) c.kill('SIGTERM');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('captures both sides of an HTTP exchange with pid, comm, 5-tuple, payload and matching tcp seq', async () => {
    const curl = await run('curl', ['-s', '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', `http://127.0.0.1:${nodePort}/`]);
    expect(curl.stdout).toBe('hello from node');

    const req = await collector.waitFor('curl request', (e) => e.pid === curl.pid && e.direction === 'egress' && e.remotePort === nodePort);
    expect(req.comm).toBe('curl');
    expect(text(req).startsWith('GET / HTTP/1.1')).toBe(true);
    expect(text(req)).toContain('traceparent: 00-0af7651916cd43dd8448eb211c80319c');
    expect(req).toMatchObject({ transport: 'tcp', ipVersion: 4, localIp: '127.0.0.1', remoteIp: '127.0.0.1', messageStart: true, tcpSeqValid: true });
    expect(req.totalBytes).toBeGreaterThan(20);
    expect(req.endUnixNano).toBeGreaterThanOrEqual(req.startUnixNano);
    // Wall clock: within a minute of now.
    expect(Math.abs(Number(req.startUnixNano / 1_000_000n) - Date.now())).toBeLessThan(60_000);

    const srvIn = await collector.waitFor('node server ingress', (e) => e.pid === node.pid && e.direction === 'ingress' && e.remotePort === req.localPort);
    expect(srvIn.comm).toBe('node');
    expect(text(srvIn).startsWith('GET / HTTP/1.1')).toBe(true);
    expect(srvIn.localPort).toBe(nodePort);
    expect(srvIn.tcpSeq).toBe(req.tcpSeq);
    expect(srvIn.syscallTraceId).toBeGreaterThan(0);

    const srvOut = await collector.waitFor('node server response', (e) => e.pid === node.pid && e.direction === 'egress' && e.remotePort === req.localPort);
    expect(text(srvOut).startsWith('HTTP/1.1 200 OK')).toBe(true);
    // A leaf server: the response takes the id its request opened.
    expect(srvOut.syscallTraceId).toBe(srvIn.syscallTraceId);
    const cliIn = await collector.waitFor('curl response', (e) => e.pid === curl.pid && e.direction === 'ingress' && e.remotePort === nodePort);
    expect(text(cliIn).startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(cliIn.tcpSeq).toBe(srvOut.tcpSeq);
    expect(cliIn.socketId).toBe(req.socketId);
    expect(srvOut.socketId).toBe(srvIn.socketId);
  });

  it("gives nginx's inbound request and its outbound proxied request the same syscall trace id", async () => {
    const curl = await run('curl', ['-s', `http://127.0.0.1:${nginxPort}/via-proxy`]);
    expect(curl.stdout).toBe('hello from node');
    const inbound = await collector.waitFor('nginx inbound', (e) => e.pid === nginx.pid && e.direction === 'ingress' && e.localPort === nginxPort && text(e).startsWith('GET /via-proxy'));
    expect(inbound.comm).toBe('nginx');
    expect(inbound.messageStart).toBe(true);
    const outbound = await collector.waitFor('nginx outbound', (e) => e.pid === nginx.pid && e.direction === 'egress' && e.remotePort === nodePort && text(e).startsWith('GET /via-proxy'));
    expect(outbound.tid).toBe(inbound.tid);
    expect(outbound.syscallTraceId).toBe(inbound.syscallTraceId);
    expect(outbound.syscallTraceId).toBeGreaterThan(0);
    expect(outbound.syscallTraceId).toBeLessThan(2 ** 53);
    // The upstream's ingress is the same message: same tcp seq at both ends of that hop.
    const upstreamIn = await collector.waitFor('node ingress from nginx', (e) => e.pid === node.pid && e.direction === 'ingress' && text(e).startsWith('GET /via-proxy'));
    expect(upstreamIn.tcpSeq).toBe(outbound.tcpSeq);
  });

  it('captures IPv6 (::1) with its addresses', async () => {
    const curl = await run('curl', ['-s', `http://[::1]:${node6Port}/v6`]);
    expect(curl.stdout).toBe('hello from node');
    const req = await collector.waitFor('curl v6 request', (e) => e.pid === curl.pid && e.direction === 'egress' && e.remotePort === node6Port);
    expect(req).toMatchObject({ ipVersion: 6, localIp: '::1', remoteIp: '::1', transport: 'tcp' });
    const srvIn = await collector.waitFor('node v6 ingress', (e) => e.pid === node6.pid && e.direction === 'ingress' && e.remotePort === req.localPort);
    expect(srvIn.tcpSeq).toBe(req.tcpSeq);
  });

  it('never traces its own process (pid deny list)', async () => {
    const res = await fetch(`http://127.0.0.1:${nodePort}/from-self`);
    expect(await res.text()).toBe('hello from node');
    await collector.waitFor('node sees /from-self', (e) => e.pid === node.pid && e.direction === 'ingress' && text(e).startsWith('GET /from-self'));
    expect(collector.events.filter((e) => 'pid' in e && e.pid === process.pid)).toEqual([]);
  });

  it('captures a UDP DNS query and answer on both sides (dig → dnsmasq)', async () => {
    const dig = await run('dig', ['@127.0.0.1', '-p', String(dnsPort), 'weft.test', 'A', '+tries=1', '+time=3', '+short']);
    expect(dig.stdout.trim()).toBe('10.1.2.3');
    const udpSyscalls = ['sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'read', 'write', 'readv', 'writev'];
    const query = await collector.waitFor('dig query', (e) => e.pid === dig.pid && e.transport === 'udp' && e.direction === 'egress');
    expect(query.remotePort).toBe(dnsPort);
    expect(Buffer.from(query.payload).includes(Buffer.from('weft'))).toBe(true);
    const srvIn = await collector.waitFor('dnsmasq query', (e) => e.pid === dnsmasq.pid && e.transport === 'udp' && e.direction === 'ingress');
    expect(srvIn.comm).toBe('dnsmasq');
    expect(srvIn.localPort).toBe(dnsPort);
    expect(srvIn.remotePort).toBe(query.localPort);
    expect(srvIn.remoteIp).toBe('127.0.0.1');
    // Same DNS transaction id on both sides.
    expect(Buffer.from(srvIn.payload.subarray(0, 2))).toEqual(Buffer.from(query.payload.subarray(0, 2)));
    const answer = await collector.waitFor('dnsmasq answer', (e) => e.pid === dnsmasq.pid && e.transport === 'udp' && e.direction === 'egress');
    expect(answer.remotePort).toBe(query.localPort);
    const digIn = await collector.waitFor('dig answer', (e) => e.pid === dig.pid && e.transport === 'udp' && e.direction === 'ingress');
    expect(digIn.totalBytes).toBe(answer.totalBytes);
    for (const e of [query, srvIn, answer, digIn]) expect(udpSyscalls).toContain(e.syscall);
    expect(srvIn.syscall.startsWith('recv')).toBe(true);
    expect(answer.syscall.startsWith('send')).toBe(true);
  });

  it('counts records and reports no drops at this load', () => {
    const stats = source.stats();
    expect(stats.events).toBeGreaterThan(0);
    expect(stats.drops).toBe(0);
  });
});

describe('eBPF availability', () => {
  it('is ok, or says why not (never a silent skip)', () => {
    if (!availability.ok) expect(availability.reason).toMatch(/\w/);
    else expect(availability).toEqual({ ok: true });
  });
});
