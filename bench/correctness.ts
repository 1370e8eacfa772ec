/**
 * @module `npm run bench -- correctness`: issue 7's table. A real `weft up` (child process: server,
 * embedded store, local eBPF agent tracing every process, the Node.js hook on, as users run it)
 * watches requests go through an uninstrumented middle tier — Node.js event loop, Python
 * thread-per-request, nginx with one worker — at 1, 8, 64 and 128 in flight. Every trace is
 * opened by its client's trace id and scored against the ground truth in the traffic
 * (src/demo/correctness/correctness.ts): correct, missing, wrong.
 *
 * The reference is issue 7's own measurement of the agent and assembly before evidence (12 in
 * flight: Node.js 34% correct and 66% wrong, Python 59%/41%, nginx 56%/44%); BENCHMARKS.md keeps
 * both side by side.
 *
 * Needs root (eBPF). WEFT_BENCH_CORRECTNESS_REQUESTS (default 256) requests per level;
 * WEFT_BENCH_CORRECTNESS_TIERS (default node,python,nginx) which middle tiers;
 * WEFT_BENCH_CORRECTNESS_DUMP=FILE appends every wrong trace (its spans, as JSON lines).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIDDLE_TIERS, runRound, startCorrectnessTopology, type MiddleTier, type Tally } from '../src/demo/correctness/correctness.js';
import { freePort } from '../src/demo/services/process-control.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LEVELS = [1, 8, 64, 128];

async function startWeftUp(dataDir: string): Promise<{ child: ChildProcess; queryUrl: string; log: () => string; stop: () => Promise<void> }> {
  const ports = { otlpGrpc: await freePort(), otlpHttp: await freePort(), zipkin: await freePort(), swGrpc: await freePort(), swHttp: await freePort(), query: await freePort() };
  const args = [
    join(ROOT, 'bin', 'weft.js'), 'up', '--data', dataDir, '--log-level', 'info',
    '--otlp-grpc-port', String(ports.otlpGrpc), '--otlp-http-port', String(ports.otlpHttp), '--zipkin-port', String(ports.zipkin),
    '--sw-grpc-port', String(ports.swGrpc), '--sw-http-port', String(ports.swHttp), '--query-port', String(ports.query),
  ];
  const { WEFT_NODE_HOOK: _off, ...env } = process.env;
  void _off;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));
  const queryUrl = `http://127.0.0.1:${ports.query}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`weft up exited ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`${queryUrl}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`weft up did not answer /healthz: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  // The agent attaches after the server listens; give it a moment to load its programs.
  await new Promise((r) => setTimeout(r, 2000));
  return {
    child,
    queryUrl,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface CorrectnessRow {
  middle: MiddleTier;
  inFlight: number;
  requests: number;
  correct: number;
  missing: number;
  wrong: number;
}

export async function runCorrectnessBench(log: (line: string) => void): Promise<{ rows: CorrectnessRow[]; table: string }> {
  if (process.getuid?.() !== 0) throw new Error('needs root (the eBPF agent of weft up)');
  const perLevel = Number(process.env['WEFT_BENCH_CORRECTNESS_REQUESTS'] ?? 256);
  const dump = process.env['WEFT_BENCH_CORRECTNESS_DUMP'];
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-bench-correctness-'));
  const weft = await startWeftUp(dataDir);
  const rows: CorrectnessRow[] = [];
  try {
    const tiers = (process.env['WEFT_BENCH_CORRECTNESS_TIERS'] ?? MIDDLE_TIERS.join(',')).split(',').filter((t): t is MiddleTier => (MIDDLE_TIERS as readonly string[]).includes(t));
    for (const middle of tiers) {
      const topo = await startCorrectnessTopology(middle);
      try {
        // Warm-up: pools connect, and weft up's agent hooks the Node.js middle tier.
        let warm = 0;
        for (let k = 0; k < 5; k++) warm += (await runRound({ queryUrl: weft.queryUrl, topo, count: 4, inFlight: 4, settleMs: 1000 })).tally.correct;
        if (warm === 0) throw new Error(`weft up's agent linked no warm-up trace (is it running? its log: ${weft.log().slice(-2000)})`);
        for (const inFlight of LEVELS) {
          const count = Math.max(perLevel, inFlight * 2);
          const { tally } = await runRound({
            queryUrl: weft.queryUrl,
            topo,
            count,
            inFlight,
            // A wrong trace is kept whole for whoever reads the numbers.
            onWrong: (e) => (dump ? appendFileSync(dump, `${JSON.stringify({ middle, inFlight, ...e })}\n`) : undefined),
          });
          rows.push({ middle, inFlight, requests: count, correct: tally.correct, missing: tally.missing, wrong: tally.wrong });
          log(`${middle} ${inFlight} in flight: ${describe(tally)}`);
        }
      } finally {
        await topo.stop();
      }
    }
  } finally {
    await weft.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1)}%`;
  const table = [
    '| middle tier | in flight | requests | correct | missing | wrong |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.middle} | ${r.inFlight} | ${r.requests} | ${r.correct} (${pct(r.correct, r.requests)}) | ${r.missing} (${pct(r.missing, r.requests)}) | ${r.wrong} |`),
  ].join('\n');
  log(`\n${table}`);
  return { rows, table };
}

function describe(t: Tally): string {
  return `correct ${t.correct}, missing ${t.missing}, wrong ${t.wrong}${t.examples.length ? ` (e.g. ${t.examples.map((e) => `${e.outcome}: ${e.why}`).join(' | ')})` : ''}`;
}
