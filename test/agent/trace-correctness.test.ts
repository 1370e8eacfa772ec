/**
 * Issue 7's end-to-end proof: traces stay right with many requests in flight. A real Weft server
 * and the eBPF agent (what `weft up` runs, in-process here, filtered to the topology's ports)
 * watch a Python client send requests through an uninstrumented middle tier — a Node.js event
 * loop, a Python thread-per-request server, nginx with one worker — to a leaf. Every trace is
 * opened by its client's trace id and checked against the ground truth in each hop's path
 * (src/demo/correctness/correctness.ts): correct, missing or wrong.
 *
 * Bars: wrong = 0 everywhere; correct ≥ 95% for Node.js and Python at 64 in flight; everything
 * correct one request at a time.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { MIDDLE_TIERS, runRound, startCorrectnessTopology, type CorrectnessTopology, type MiddleTier, type Tally } from '../../src/demo/correctness/correctness.js';
import { startTestWeft, type TestWeft } from '../e2e/weft-harness.js';
import { ebpfUnavailable } from './traced-topology.js';

const unavailable = ebpfUnavailable('the trace-correctness test');

/** Requests per round, by requests in flight. */
const ROUNDS: ReadonlyArray<[inFlight: number, count: number]> = [
  [1, 8],
  [8, 48],
  [64, 128],
];

const fmt = (t: Tally): string => `correct ${t.correct}, missing ${t.missing}, wrong ${t.wrong}${t.examples.length ? ` — e.g. ${t.examples.map((e) => `${e.outcome}: ${e.why}`).join(' | ')}` : ''}`;

for (const middle of MIDDLE_TIERS) {
  describe.skipIf(unavailable !== null)(`trace correctness under concurrency: ${middle} middle tier${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
    let weft: TestWeft;
    let agent: RunningAgent;
    let topo: CorrectnessTopology;
    const results = new Map<number, Tally>();

    beforeAll(async () => {
      weft = await startTestWeft();
      topo = await startCorrectnessTopology(middle as MiddleTier);
      // What `weft up` runs: the Node.js runtime hook on (its default), here limited to this topology's ports.
      agent = await startAgent({ sink: weft.server.sink, interfaces: [], logger: pino({ level: 'silent' }), ebpf: { ports: topo.ports }, nodeHook: true });
      // Warm-up: keep-alive pools connect on the first requests, and the agent sees the Node.js
      // middle tier serve and hooks it (retrying while a loaded machine makes the inspector slow).
      const middlePid = topo.services['middle']?.pid ?? 0;
      const deadline = Date.now() + 30_000;
      do await runRound({ queryUrl: weft.urls.query, topo, count: 4, inFlight: 4, settleMs: 500 });
      while (middle === 'node' && !agent.runtimeLinks.hooked(middlePid) && Date.now() < deadline);
      if (middle === 'node') expect(agent.runtimeLinks.hooked(middlePid), JSON.stringify(await agent.runtimeLinks.attached(middlePid))).toBe(true);
    }, 180_000);

    afterAll(async () => {
      await topo?.stop();
      await agent?.close();
      await weft?.close();
    }, 60_000);

    for (const [inFlight, count] of ROUNDS) {
      it(`${inFlight} in flight: no trace is wrong${inFlight === 1 || middle !== 'nginx' ? ', and enough are correct' : ''}`, async () => {
        const { tally } = await runRound({ queryUrl: weft.urls.query, topo, count, inFlight });
        results.set(inFlight, tally);
        process.stderr.write(`[trace-correctness] ${middle} ${inFlight} in flight: ${fmt(tally)}\n`);
        expect(tally.wrong, fmt(tally)).toBe(0);
        if (inFlight === 1) expect(tally.correct, fmt(tally)).toBe(count);
        if (inFlight === 64 && middle !== 'nginx') expect(tally.correct / count, fmt(tally)).toBeGreaterThanOrEqual(0.95);
      }, 180_000);
    }
  });
}
