/**
 * @module `npm run bench [-- SUITE...]`: runs the named benchmark suites (all by default), the
 * progress and ratio lines of each on stderr as `[suite] …`, and one JSON line per suite on
 * stdout (`{"suite", "result"}` or `{"suite", "error"}`). A suite that fails (e.g. ebpf-overhead
 * without root) does not stop the others; the exit code is then 1.
 */
import { runAgentCapacityBench } from './agent-capacity.js';
import { runAssemblyBench } from './assembly.js';
import { runClickHouseBench } from './clickhouse.js';
import { runCorrectnessBench } from './correctness.js';
import { runEbpfOverheadBench } from './ebpf-overhead.js';
import { runHttp2ParserBench } from './http2-parser.js';
import { runIngestBench } from './ingest.js';
import { runNetworkPathBench } from './network-path.js';
import { runNodeHookBench } from './node-hook.js';
import { runOverloadBench } from './overload.js';
import { runParserBench } from './parsers.js';
import { runPcapRecallBench } from './pcap-recall.js';
import { runPcapSpeedBench } from './pcap-speed.js';
import { runQueryBoundsBench } from './query-bounds.js';
import { runStoreBench } from './store.js';
import { runSyscallCopyBench } from './syscall-copy.js';
import { runTlsOverheadBench } from './tls-overhead.js';
import { runUiBench } from './ui.js';

type Suite = (log: (line: string) => void) => Promise<unknown>;

/** In the order `npm run bench` runs them: the in-process suites first, eBPF (root, wrk, nginx) last. */
const SUITES: Record<string, Suite> = {
  store: runStoreBench,
  ingest: runIngestBench,
  parsers: runParserBench,
  'http2-parser': runHttp2ParserBench,
  'pcap-recall': runPcapRecallBench,
  'agent-capacity': runAgentCapacityBench,
  assembly: runAssemblyBench,
  clickhouse: runClickHouseBench,
  ui: runUiBench,
  'query-bounds': runQueryBoundsBench,
  overload: runOverloadBench,
  'ebpf-overhead': (log) => runEbpfOverheadBench(log),
  'ebpf-overhead-server': (log) => runEbpfOverheadBench(log, { scope: 'server' }),
  'node-hook': (log) => runNodeHookBench(log),
  'network-path': (log) => runNetworkPathBench(log),
  'tls-overhead': (log) => runTlsOverheadBench(log),
  'syscall-copy': (log) => runSyscallCopyBench(log),
  'pcap-speed': (log) => runPcapSpeedBench(log),
  correctness: runCorrectnessBench,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = asked.length > 0 ? asked : Object.keys(SUITES);
  for (const n of names) {
    if (!SUITES[n]) {
      process.stderr.write(`unknown bench suite "${n}"; known: ${Object.keys(SUITES).join(', ')}\n`);
      process.exit(2);
    }
  }
  let failed = 0;
  for (const n of names) {
    const log = (line: string): void => void process.stderr.write(`[${n}] ${line}\n`);
    log('start');
    const started = performance.now();
    try {
      const result = await (SUITES[n] as Suite)(log);
      log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      process.stdout.write(`${JSON.stringify({ suite: n, result }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
    } catch (err) {
      failed++;
      const message = err instanceof Error ? err.message : String(err);
      log(`FAILED: ${message}`);
      process.stdout.write(`${JSON.stringify({ suite: n, error: message })}\n`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
