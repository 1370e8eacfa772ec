/**
 * @module Node.js runtime-links hook overhead: wrk against a plain Node.js HTTP server, side by
 * side with the same server hooked through its inspector (src/agent/runtime), alternating in one
 * run. Two servers: `hello` answers directly (the hook's inbound context and AsyncLocalStorage
 * only), `proxy` makes one keep-alive HTTP call to nginx per request (plus the write and flush
 * reports). Reports requests/s kept = hooked / plain, the server's CPU per request, and the
 * agent's CPU per request for receiving and storing the reports (this process).
 *
 * Run alone: `npm run bench -- node-hook` (root for taskset is not needed; nginx-light and wrk from Debian).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRuntimeLinks } from '../src/agent/runtime/runtime-links.js';

export interface NodeHookBenchOptions {
  /** Seconds per measured phase (default 3). */
  phaseSeconds?: number;
  /** Plain/hooked pairs per server kind (default 6). */
  rounds?: number;
  /** wrk connections (default 32). */
  connections?: number;
}

export interface NodeHookKindResult {
  plainRps: number[];
  hookedRps: number[];
  /** Median over pairs of hooked / plain requests/s (each pair measured back to back). */
  kept: number;
  /** Median server CPU µs per request, plain and hooked, and this agent process for the hooked phases. */
  cpuMicrosPerRequest: { plain: number; hooked: number; agent: number };
  /** Reports (lines) the agent received per request in the hooked phases. */
  reportsPerRequest: number;
}

export interface NodeHookBenchResult {
  hello: NodeHookKindResult;
  proxy: NodeHookKindResult;
  /** SIGUSR1 to inspector port closed, per attach, ms. */
  inspectorOpenMs: number[];
  setup: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
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

/** utime + stime of a process, in µs (clock ticks are 100 Hz on Linux). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function wrk(port: number, seconds: number, connections: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '1', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', () => {
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`wrk output without Requests/sec: ${out}`));
    });
  });
}

/** The servers under test: plain Node.js, nothing of Weft in them. */
const SERVER = `
const http = require('http');
const backendPort = Number(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const proxy = backendPort > 0;
const server = http.createServer((req, res) => {
  if (!proxy) { res.end('ok\\n'); return; }
  http.get({ host: '127.0.0.1', port: backendPort, path: '/b', agent }, (r) => {
    r.resume();
    r.on('end', () => res.end('ok\\n'));
  }).on('error', () => { res.statusCode = 502; res.end(); });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startServer(backendPort: number): Promise<{ child: ChildProcess; port: number }> {
  // The servers own CPU 0; wrk, nginx and this agent share CPU 1.
  // WEFT_NODE_HOOK=0: another agent on the host must not hook these on its own (ours attaches by pid).
  const child = spawn('taskset', ['-c', '0', process.execPath, '-e', SERVER, String(backendPort)], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, WEFT_NODE_HOOK: '0' } });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, port };
}

/** The Node.js process inside a `taskset` child. */
function nodePidOf(child: ChildProcess): number {
  // taskset execs the command, so the pid is the node process's own.
  return child.pid ?? 0;
}

async function startNginx(tmp: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  writeFileSync(
    path.join(tmp, 'nginx.conf'),
    `daemon off; master_process off; worker_processes 1; pid ${tmp}/nginx.pid; error_log ${tmp}/error.log;
events { worker_connections 1024; }
http {
  access_log off; keepalive_requests 10000000; keepalive_timeout 60s;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fcgi;
  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  server { listen 127.0.0.1:${port}; location / { default_type text/plain; return 200 "b\\n"; } }
}
`,
  );
  const child = spawn('taskset', ['-c', '1', 'nginx', '-p', tmp, '-c', path.join(tmp, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 500; i++) {
    try {
      execFileSync('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
      return { child, port };
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error('nginx did not start');
}

export async function runNodeHookBench(log: (line: string) => void = () => {}, opts: NodeHookBenchOptions = {}): Promise<NodeHookBenchResult> {
  const seconds = opts.phaseSeconds ?? 3;
  const rounds = opts.rounds ?? 6;
  const connections = opts.connections ?? 32;
  const tmp = mkdtempSync(path.join(tmpdir(), 'weft-bench-node-hook-'));
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const children: ChildProcess[] = [];
  let reports = 0;
  const links = await startRuntimeLinks({
    socketPath: path.join(tmp, 'links.sock'),
    logger: { info: () => undefined, warn: (o, m) => log(`${m ?? ''} ${JSON.stringify(o)}`) },
    clock: { offsetNs: 0n },
    enabled: true,
    autoAttach: false,
  });
  const inspectorOpenMs: number[] = [];
  try {
    const nginx = await startNginx(tmp);
    children.push(nginx.child);
    const measure = async (kind: 'hello' | 'proxy'): Promise<NodeHookKindResult> => {
      const plain = await startServer(kind === 'proxy' ? nginx.port : 0);
      const hooked = await startServer(kind === 'proxy' ? nginx.port : 0);
      children.push(plain.child, hooked.child);
      const hookedPid = nodePidOf(hooked.child);
      links.attach(hookedPid);
      const rec = await links.attached(hookedPid);
      if (rec?.outcome.kind !== 'evaluated' || rec.outcome.value !== 'installed') throw new Error(`hook not installed: ${JSON.stringify(rec?.outcome)}`);
      if (rec.outcome.openMs !== undefined) inspectorOpenMs.push(rec.outcome.openMs);
      await wrk(plain.port, 1, connections); // warm-up, both
      await wrk(hooked.port, 1, connections);
      const plainRps: number[] = [];
      const hookedRps: number[] = [];
      const plainCpu: number[] = [];
      const hookedCpu: number[] = [];
      const agentCpu: number[] = [];
      const reportsPerReq: number[] = [];
      const phase = async (which: 'plain' | 'hooked'): Promise<number> => {
        const s = which === 'plain' ? plain : hooked;
        const pid = nodePidOf(s.child);
        const before = cpuMicros(pid);
        const agentBefore = process.cpuUsage();
        const reportsBefore = links.stats().reports;
        const rps = await wrk(s.port, seconds, connections);
        const n = rps * seconds;
        const serverCpu = (cpuMicros(pid) - before) / n;
        if (which === 'plain') {
          plainRps.push(rps);
          plainCpu.push(serverCpu);
          log(`  ${kind} plain  ${rps.toFixed(0)} req/s, server ${serverCpu.toFixed(1)} µs CPU/req`);
        } else {
          const a = process.cpuUsage(agentBefore);
          const got = links.stats().reports - reportsBefore;
          reports += got;
          hookedRps.push(rps);
          hookedCpu.push(serverCpu);
          agentCpu.push((a.user + a.system) / n);
          reportsPerReq.push(got / n);
          log(`  ${kind} hooked ${rps.toFixed(0)} req/s, server ${serverCpu.toFixed(1)} µs CPU/req, agent ${(agentCpu.at(-1) ?? 0).toFixed(1)} µs CPU/req, ${(got / n).toFixed(2)} reports/req`);
        }
        return rps;
      };
      const ratios: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Alternate the order inside each pair so slow drift (other load on the host) cancels out.
        if (r % 2 === 0) {
          const p = await phase('plain');
          ratios.push((await phase('hooked')) / p);
        } else {
          const h = await phase('hooked');
          ratios.push(h / (await phase('plain')));
        }
      }
      if (!links.hooked(hookedPid)) throw new Error('the hook went away during the run');
      return {
        plainRps,
        hookedRps,
        kept: median(ratios),
        cpuMicrosPerRequest: { plain: median(plainCpu), hooked: median(hookedCpu), agent: median(agentCpu) },
        reportsPerRequest: median(reportsPerReq),
      };
    };
    const hello = await measure('hello');
    log(`hello: kept ${(hello.kept * 100).toFixed(1)}% of requests/s`);
    const proxy = await measure('proxy');
    log(`proxy: kept ${(proxy.kept * 100).toFixed(1)}% of requests/s`);
    log(`(${reports} reports received in the hooked phases)`);
    return {
      hello,
      proxy,
      inspectorOpenMs,
      setup: `Node ${process.version}; servers on CPU 0, wrk -t1 -c${connections} + nginx backend + this agent on CPU 1; ${rounds} pairs x ${seconds} s per kind`,
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await links.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
