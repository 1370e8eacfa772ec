/**
 * @module The pcap bar (DESIGN.md): "import a capture ≥ 5× faster than tshark extracts the same
 * L7 fields from it".
 *
 * The capture is made here, from real traffic: tcpdump on lo records a Node client sending HTTP/1.1
 * requests (traceparent, X-Request-ID) through nginx to a Node upstream on keep-alive connections,
 * and Redis commands (SET/GET, pipelined) to a real redis-server — two HTTP exchanges and one
 * Redis exchange per unit of work, the mix a node of a small service sees.
 *
 * Then, side by side in alternating rounds on the same file:
 * - `weft import-pcap FILE --dry-run`, a process of its own like tshark: start, read the file,
 *   decode packets, follow flows, run the sessions and the real parsers into SpanRecords, count
 *   them — the same job as tshark's, cold (a fresh process's JIT). This is the bar's measure;
 * - `weft import-pcap FILE --data DIR`: the same, plus writing every span durably into a new
 *   DuckDB store (tshark stores nothing; reported apart);
 * - the parse warm: `importCapture` in this process, after a first round (what a long capture
 *   costs once the JIT has the code compiled), from dist/ (the built CLI's code) when present;
 * - tshark (Debian): the same L7 fields out of the same file — addresses, ports, tcp seq, HTTP
 *   method, target, host, version, status and header lines (traceparent, X-Request-ID), Redis
 *   command arrays — told the ports' protocols with `-d`, printed as fields (`-T fields`).
 * Processes' CPU and wall come from bash's `time`.
 *
 * The two sides must agree on what they found: tshark's HTTP requests and RESP arrays are counted
 * and set against Weft's HTTP and Redis spans (the run fails when they differ by more than 1%).
 *
 * Env: WEFT_BENCH_PCAP_HTTP (20000 requests through nginx), WEFT_BENCH_PCAP_REDIS (20000 commands),
 * WEFT_BENCH_PCAP_ROUNDS (3), WEFT_BENCH_PCAP_KEEP=1 keeps the capture (its path is logged).
 * Needs root (tcpdump on lo), nginx, redis-server, tcpdump and tshark.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { importCapture as ImportCapture } from '../src/agent/capture/pcap/import-capture.js';
import { startNginx, startRedis } from '../src/demo/services/real-services.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const envInt = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);

/** Concurrent keep-alive HTTP connections and Redis pipelines in flight while recording. */
const HTTP_CONNECTIONS = 32;
const REDIS_IN_FLIGHT = 64;

interface Timing {
  wallS: number;
  cpuS: number;
}

export interface PcapSpeedResult {
  capture: { bytes: number; packets: number; httpRequests: number; redisCommands: number };
  /** What each side found (medians are of times only; counts are the same every round). */
  found: { weftHttpSpans: number; weftRedisSpans: number; tsharkHttpRequests: number; tsharkRespArrays: number };
  /** Medians over the rounds (the warm parse: over rounds 2 on). */
  weftDryRun: Timing;
  weftImportToStore: Timing;
  weftParseWarm: Timing;
  tshark: Timing;
  /** tshark time / Weft time: the bar asks ≥ 5 of the dry run's CPU. */
  ratioDryRunWall: number;
  ratioDryRunCpu: number;
  ratioToStoreWall: number;
  ratioToStoreCpu: number;
  ratioParseWarmCpu: number;
  meetsBar: boolean;
  loadAverage: [number, number];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const loadAverage = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Runs `cmd` under bash's `time`, its stdout into `stdoutFile`: wall and CPU (user + sys, children included) seconds. */
async function timedAsync(cmd: string, args: readonly string[], stdoutFile: string): Promise<Timing> {
  const quoted = [cmd, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const script = `TIMEFORMAT='%R %U %S'; time ( ${quoted} > '${stdoutFile}' 2>/dev/null ) 2>&1`;
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const m = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(out);
  if (code !== 0 || !m) throw new Error(`${cmd} failed (exit ${code}): ${err.slice(-500)}${out.slice(-500)}`);
  return { wallS: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]) };
}

/** Records the traffic; resolves with the capture's path and what was sent. */
async function recordCapture(dir: string, httpRequests: number, redisCommands: number, log: (l: string) => void): Promise<{ file: string; ports: { nginx: number; upstream: number; redis: number } }> {
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(`{"ok":true,"path":${JSON.stringify(req.url ?? '')}}`);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const nginx = await startNginx(join(dir, 'nginx'), { upstreamPort, addRequestId: true });
  const redis = await startRedis(join(dir, 'redis'));
  const file = join(dir, 'traffic.pcap');
  const filter = `tcp port ${nginx.port} or tcp port ${upstreamPort} or tcp port ${redis.port}`;
  const tcpdump = spawn('tcpdump', ['-i', 'lo', '-n', '-s', '0', '-B', '65536', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  let dumpErr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${dumpErr}`)), 15_000);
      tcpdump.stderr.on('data', (b: Buffer) => {
        dumpErr += b.toString();
        if (dumpErr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      tcpdump.once('exit', (c) => reject(new Error(`tcpdump exited (${c}): ${dumpErr}`)));
    });
    const agent = new Agent({ keepAlive: true, maxSockets: HTTP_CONNECTIONS });
    let sent = 0;
    const one = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const trace = randomBytes(16).toString('hex');
        const req = request(
          {
            host: '127.0.0.1',
            port: nginx.port,
            path: `/api/orders/${i}?expand=items&page=${i % 7}`,
            agent,
            headers: { traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01`, 'x-request-id': randomBytes(12).toString('hex'), 'user-agent': 'weft-bench/1' },
          },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const httpWorker = async (): Promise<void> => {
      while (sent < httpRequests) await one(sent++);
    };
    const client = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true, enableAutoPipelining: false });
    await client.connect();
    let issued = 0;
    const redisWorker = async (): Promise<void> => {
      while (issued < redisCommands) {
        const i = issued++;
        if (i % 2 === 0) await client.set(`order:${i}`, `{"id":${i},"items":${i % 5}}`);
        else await client.get(`order:${i - 1}`);
      }
    };
    const started = performance.now();
    await Promise.all([...Array.from({ length: HTTP_CONNECTIONS }, httpWorker), ...Array.from({ length: REDIS_IN_FLIGHT }, redisWorker)]);
    log(`recorded ${httpRequests} HTTP requests through nginx and ${redisCommands} Redis commands in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    client.disconnect();
    agent.destroy();
    // Let the last segments reach the capture before it stops.
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    const exited = new Promise<void>((r) => (tcpdump.exitCode !== null ? r() : tcpdump.once('exit', () => r())));
    tcpdump.kill('SIGINT');
    await exited;
    await nginx.stop();
    await redis.stop();
    await new Promise<void>((r) => upstream.close(() => r()));
  }
  return { file, ports: { nginx: nginx.port, upstream: upstreamPort, redis: redis.port } };
}

export async function runPcapSpeedBench(log: (line: string) => void): Promise<PcapSpeedResult> {
  const httpRequests = envInt('WEFT_BENCH_PCAP_HTTP', 20_000);
  const redisCommands = envInt('WEFT_BENCH_PCAP_REDIS', 20_000);
  const rounds = envInt('WEFT_BENCH_PCAP_ROUNDS', 3);
  const load0 = loadAverage();
  const dir = mkdtempSync(join(tmpdir(), 'weft-pcap-speed-'));
  try {
    const { file, ports } = await recordCapture(dir, httpRequests, redisCommands, log);
    const bytes = statSync(file).size;
    const tsharkArgs = [
      '-r', file, '-n',
      '-d', `tcp.port==${ports.nginx},http`, '-d', `tcp.port==${ports.upstream},http`, '-d', `tcp.port==${ports.redis},resp`,
      '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,',
      '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw',
      '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.host', '-e', 'http.request.version', '-e', 'http.response.code', '-e', 'http.request.line', '-e', 'http.response.line',
      '-e', 'resp.array.length', '-e', 'resp.bulk_string.value',
    ];
    const tsharkOut = join(dir, 'tshark.txt');
    const weft = join(ROOT, 'bin', 'weft.js');
    const built = join(ROOT, 'dist', 'agent', 'capture', 'pcap', 'import-capture.js');
    const { importCapture } = (await import(existsSync(built) ? pathToFileURL(built).href : '../src/agent/capture/pcap/import-capture.js')) as { importCapture: typeof ImportCapture };
    const dry: Timing[] = [];
    const toStore: Timing[] = [];
    const warm: Timing[] = [];
    const shark: Timing[] = [];
    let found = { weftHttpSpans: 0, weftRedisSpans: 0, tsharkHttpRequests: 0, tsharkRespArrays: 0 };
    let packets = 0;
    const dryOut = join(dir, 'dry-run.txt');
    for (let r = 0; r < rounds + 1; r++) {
      // In this process: the first round warms the JIT and is not counted.
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let http = 0;
      let redis = 0;
      const result = await importCapture(readFileSync(file), {
        observationPoint: 'c',
        hostId: 'bench',
        onSpans: (spans) => {
          for (const s of spans) {
            if (s.protocol === 'http') http++;
            else if (s.protocol === 'redis') redis++;
          }
        },
      });
      const cpu = process.cpuUsage(cpu0);
      packets = result.packets;
      found = { ...found, weftHttpSpans: http, weftRedisSpans: redis };
      if (r === 0) continue;
      warm.push({ wallS: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6 });

      dry.push(await timedAsync(process.execPath, [weft, 'import-pcap', file, '--dry-run'], dryOut));
      const store = join(dir, `store-${r}`);
      toStore.push(await timedAsync(process.execPath, [weft, 'import-pcap', file, '--data', store, '--observation-point', 'c'], join(dir, 'import.txt')));
      rmSync(store, { recursive: true, force: true });
      shark.push(await timedAsync('tshark', tsharkArgs, tsharkOut));
      const f = (t: Timing): string => `${t.wallS.toFixed(2)} s (CPU ${t.cpuS.toFixed(2)})`;
      log(`round ${r}/${rounds}: weft import-pcap --dry-run ${f(dry.at(-1)!)}, --data ${f(toStore.at(-1)!)}, parse warm ${f(warm.at(-1)!)}; tshark ${f(shark.at(-1)!)}`);
    }
    const dryLine = readFileSync(dryOut, 'utf8');
    if (!dryLine.includes(`would import ${found.weftHttpSpans + found.weftRedisSpans} NET spans`)) throw new Error(`weft import-pcap --dry-run found otherwise: ${dryLine}`);
    // What tshark found: lines with a request method are HTTP requests; RESP arrays counted per line.
    let tsharkHttp = 0;
    let tsharkResp = 0;
    for (const line of readFileSync(tsharkOut, 'utf8').split('\n')) {
      const f = line.split('|');
      if (f[6]) tsharkHttp += f[6].split(',').length;
      // A client's command is an array it sends to the Redis port (replies to GET are bulk strings).
      if (f[13] && f[4] === String(ports.redis)) tsharkResp += f[13].split(',').length;
    }
    found = { ...found, tsharkHttpRequests: tsharkHttp, tsharkRespArrays: tsharkResp };
    const agree = (a: number, b: number): boolean => Math.abs(a - b) <= Math.max(1, b * 0.01);
    if (!agree(found.weftHttpSpans, tsharkHttp) || !agree(found.weftRedisSpans, tsharkResp)) {
      throw new Error(`the two sides found different exchanges: ${JSON.stringify(found)}`);
    }
    const med = (ts: Timing[]): Timing => ({ wallS: median(ts.map((t) => t.wallS)), cpuS: median(ts.map((t) => t.cpuS)) });
    const d = med(dry);
    const c = med(toStore);
    const w = med(warm);
    const t = med(shark);
    const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
    const result: PcapSpeedResult = {
      capture: { bytes, packets, httpRequests, redisCommands },
      found,
      weftDryRun: d,
      weftImportToStore: c,
      weftParseWarm: w,
      tshark: t,
      ratioDryRunWall: ratio(t.wallS, d.wallS),
      ratioDryRunCpu: ratio(t.cpuS, d.cpuS),
      ratioToStoreWall: ratio(t.wallS, c.wallS),
      ratioToStoreCpu: ratio(t.cpuS, c.cpuS),
      ratioParseWarmCpu: ratio(t.cpuS, w.cpuS),
      meetsBar: t.cpuS / d.cpuS >= 5,
      loadAverage: [load0, loadAverage()],
    };
    log(`capture: ${(bytes / 1e6).toFixed(1)} MB, ${packets} packets; found: HTTP ${found.weftHttpSpans} spans vs tshark ${tsharkHttp} requests, Redis ${found.weftRedisSpans} vs ${tsharkResp} arrays`);
    log(`tshark / weft import-pcap --dry-run: CPU ${result.ratioDryRunCpu}, wall ${result.ratioDryRunWall} (bar ≥ 5 of CPU: ${result.meetsBar ? 'met' : 'NOT met'}); tshark / weft import-pcap --data (durable store writes too): CPU ${result.ratioToStoreCpu}, wall ${result.ratioToStoreWall}; tshark / the parse warm, in process: CPU ${result.ratioParseWarmCpu}; load ${load0} → ${result.loadAverage[1]}`);
    if (process.env['WEFT_BENCH_PCAP_KEEP'] === '1') log(`capture kept: ${file}`);
    return result;
  } finally {
    if (process.env['WEFT_BENCH_PCAP_KEEP'] !== '1') rmSync(dir, { recursive: true, force: true });
  }
}

// `node --import tsx bench/pcap-speed.ts` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runPcapSpeedBench((l) => void process.stderr.write(`[pcap-speed] ${l}\n`))
    .then((r) => process.stdout.write(`${JSON.stringify({ suite: 'pcap-speed', result: r })}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
