/**
 * @module Parser benchmark: HTTP/1.1 request+response → parse, stitch and toSpan per second on
 * one core (this process's main thread), against a baseline that only copies the same bytes, in
 * the same run. Also MB/s of every protocol's parser over its recorded golden captures.
 *
 * The HTTP messages are shaped like curl's requests (with traceparent and X-Request-ID) and
 * nginx's tiny keep-alive responses, the worst case for per-request overhead. Requests go round
 * robin over 64 keep-alive connections, each a real ExchangeStream as the sessions use it.
 * Env: WEFT_BENCH_PARSER_SECONDS (3 per measurement).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createExchangeStream, type ExchangeStream } from '../src/agent/protocols/exchange-stream.js';
import { http1Parser } from '../src/agent/protocols/http1/index.js';
import type { HttpRecord } from '../src/agent/protocols/http1/stitch.js';
import type { ConnInfo, FrameMeta } from '../src/agent/protocols/protocol.js';
import { PROTOCOL_PARSERS } from '../src/agent/protocols/registry.js';
import { readPcapFlows, type Flow } from '../src/agent/protocols/testing/pcap-flows.js';
import { connOf } from '../src/agent/protocols/testing/replay.js';

const CONNECTIONS = 64;
const BATCH = 1000;

const REQUEST = Buffer.from(
  'GET /api/v1/users/42?fields=name HTTP/1.1\r\nHost: backend:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n' +
    'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Request-ID: 5f1c2a9e-8b1d-4c1e-9f1a-1234567890ab\r\n\r\n',
  'latin1',
);
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\nContent-Type: text/plain\r\n' +
    'Content-Length: 16\r\nConnection: keep-alive\r\nX-Request-ID: 5f1c2a9e-8b1d-4c1e-9f1a-1234567890ab\r\n\r\nhello from weft\n',
  'latin1',
);

const CONN: ConnInfo = {
  source: 'sys',
  origin: 'ebpf',
  observationPoint: 's-p',
  ipVersion: 4,
  transport: 'tcp',
  clientIp: '10.0.0.1',
  clientPort: 40000,
  serverIp: '10.0.0.2',
  serverPort: 8080,
  processId: 1234,
  processName: 'nginx',
  hostId: 'bench',
  interfaceName: '',
};

function seconds(): number {
  return Number(process.env['WEFT_BENCH_PARSER_SECONDS'] ?? 3);
}

/**
 * Runs `batch` until the time is up. Returns operations per wall-clock second and per second of
 * CPU this process used (user + system, GC threads included): on a shared machine the second is
 * what one core does, whatever else runs beside it.
 */
function measure(batch: () => number): { perSec: number; perCpuSec: number; ops: number } {
  // Warm up the JIT before timing.
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) batch();
  const end = performance.now() + seconds() * 1000;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let ops = 0;
  while (performance.now() < end) ops += batch();
  const cpu = process.cpuUsage(cpu0);
  return { perSec: ops / ((performance.now() - start) / 1000), perCpuSec: ops / ((cpu.user + cpu.system) / 1e6), ops };
}

export interface ParserBenchResult {
  /** Requests (each with its response) turned into spans per wall-clock second. */
  httpRequestsPerSec: number;
  /** The same per CPU-second of this process: the one-core capacity on a busy machine. */
  httpRequestsPerCpuSec: number;
  copyBaselinePerSec: number;
  copyBaselinePerCpuSec: number;
  /** parse+stitch+toSpan rate as a fraction of the copy-only rate (per CPU-second). */
  ratioToCopy: number;
  bytesPerExchange: number;
  goldenMBPerSec: Record<string, number>;
}

function httpBench(): { perSec: number; perCpuSec: number } {
  const streams: ExchangeStream<HttpRecord>[] = [];
  for (let i = 0; i < CONNECTIONS; i++) streams.push(createExchangeStream<HttpRecord>(http1Parser, 'tcp'));
  let t = 1n;
  let seq = 1;
  let sink = 0;
  const r = measure(() => {
    for (let i = 0; i < BATCH; i++) {
      const s = streams[i % CONNECTIONS]!;
      // One syscall per message, as the sessions hand them over.
      const reqMeta: FrameMeta = { startUnixNano: t, endUnixNano: t + 1000n, tcpSeq: seq, syscallTraceId: i, tid: 7 };
      s.push('request', REQUEST, reqMeta, true);
      const respMeta: FrameMeta = { startUnixNano: t + 50_000n, endUnixNano: t + 51_000n, tcpSeq: seq + 7, syscallTraceId: i, tid: 7 };
      for (const rec of s.push('response', RESPONSE, respMeta, true)) sink += http1Parser.toSpan(rec, CONN).requestResource.length;
      t += 100_000n;
      seq = (seq + REQUEST.length) >>> 0;
    }
    return BATCH;
  });
  if (sink === 0) throw new Error('bench produced no spans');
  return r;
}

function copyBaseline(): { perSec: number; perCpuSec: number } {
  let sink = 0;
  const r = measure(() => {
    for (let i = 0; i < BATCH; i++) {
      // What any consumer of the ring buffer does at least: take its own copy of both messages.
      const a = Buffer.allocUnsafe(REQUEST.length);
      REQUEST.copy(a);
      const b = Buffer.allocUnsafe(RESPONSE.length);
      RESPONSE.copy(b);
      sink += a[0]! + b[0]!;
    }
    return BATCH;
  });
  if (sink === 0) throw new Error('baseline optimised away');
  return r;
}

function goldenThroughput(): Record<string, number> {
  const root = fileURLToPath(new URL('../src/agent/protocols/', import.meta.url));
  const folders: Record<string, string> = { http: 'http1', dns: 'dns', redis: 'redis', mysql: 'mysql', postgresql: 'postgres' };
  const out: Record<string, number> = {};
  for (const parser of PROTOCOL_PARSERS) {
    const dir = join(root, folders[parser.name] ?? parser.name, 'testdata');
    const flows: Flow[] = readdirSync(dir)
      .filter((f) => f.endsWith('.pcap'))
      .flatMap((f) => readPcapFlows(readFileSync(join(dir, f))));
    const bytes = flows.reduce((n, f) => n + f.messages.reduce((m, x) => m + x.bytes.length, 0), 0);
    const r = measure(() => {
      for (const flow of flows) {
        const s = createExchangeStream<unknown>(parser, flow.transport);
        const conn = connOf(flow);
        for (const m of flow.messages) for (const rec of s.push(m.fromClient ? 'request' : 'response', m.bytes, m.meta, true)) parser.toSpan(rec, conn);
      }
      return bytes;
    });
    out[parser.name] = Math.round((r.perSec / 1e6) * 10) / 10;
  }
  return out;
}

export async function runParserBench(log: (line: string) => void = () => undefined): Promise<ParserBenchResult> {
  log(`HTTP/1.1 parse+stitch+toSpan, ${CONNECTIONS} keep-alive connections, ${seconds()} s`);
  const http = httpBench();
  log(`  ${Math.round(http.perSec).toLocaleString('en')} requests/s wall, ${Math.round(http.perCpuSec).toLocaleString('en')} per CPU-second`);
  const copy = copyBaseline();
  log(`  copy-only baseline: ${Math.round(copy.perSec).toLocaleString('en')} pairs/s wall, ${Math.round(copy.perCpuSec).toLocaleString('en')} per CPU-second`);
  const goldenMBPerSec = goldenThroughput();
  log(`  golden captures MB/s: ${JSON.stringify(goldenMBPerSec)}`);
  await Promise.resolve();
  return {
    httpRequestsPerSec: Math.round(http.perSec),
    httpRequestsPerCpuSec: Math.round(http.perCpuSec),
    copyBaselinePerSec: Math.round(copy.perSec),
    copyBaselinePerCpuSec: Math.round(copy.perCpuSec),
    ratioToCopy: Math.round((http.perCpuSec / copy.perCpuSec) * 1000) / 1000,
    bytesPerExchange: REQUEST.length + RESPONSE.length,
    goldenMBPerSec,
  };
}

// `node --import tsx bench/parsers.ts` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runParserBench((l) => void process.stderr.write(`[parsers] ${l}\n`))
    .then((r) => process.stdout.write(`${JSON.stringify({ suite: 'parsers', result: r })}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exit(1);
    });
}
