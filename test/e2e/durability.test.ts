/**
 * @module Durability through the whole server: `weft server` (a child process, DuckDB in a temp
 * dir) acknowledges OTLP batches, is killed with SIGKILL right after the last ack, restarts on
 * the same data dir, and every acknowledged span is there.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PORT_FLAGS_ZERO, cliFromSource, exited, startUntilListening } from './cli-process.js';

const BATCHES = 24;
const SPANS_PER_BATCH = 40;
const SERVICE = 'durability-svc';

function batch(traceId: string, n: number): string {
  const base = 1_700_000_000_000_000_000n;
  const spans = Array.from({ length: n }, (_, i) => ({
    traceId,
    spanId: randomBytes(8).toString('hex'),
    name: `op-${i}`,
    kind: 2,
    startTimeUnixNano: String(base + BigInt(i) * 1000n),
    endTimeUnixNano: String(base + BigInt(i) * 1000n + 500n),
  }));
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }] }, scopeSpans: [{ spans }] }],
  });
}

describe('durability', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finds every acknowledged span after SIGKILL and restart', async () => {
    const data = await mkdtemp(join(tmpdir(), 'weft-durable-'));
    dirs.push(data);
    const args = cliFromSource(['server', '--data', data, ...PORT_FLAGS_ZERO]);
    const first = await startUntilListening(args);
    const acked = new Set<string>();
    try {
      const url = `http://127.0.0.1:${first.ports.otlpHttp}/v1/traces`;
      await Promise.all(
        Array.from({ length: BATCHES }, async () => {
          const traceId = randomBytes(16).toString('hex');
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch(traceId, SPANS_PER_BATCH) });
          if (res.status === 200) acked.add(traceId);
        }),
      );
    } finally {
      first.child.kill('SIGKILL');
      await exited(first.child);
    }
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(acked.size).toBe(BATCHES);

    const second = await startUntilListening(args);
    try {
      const q = `http://127.0.0.1:${second.ports.query}`;
      for (const traceId of acked) {
        const res = await fetch(`${q}/api/v1/traces/${traceId}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { spans: unknown[] };
        expect(body.spans).toHaveLength(SPANS_PER_BATCH);
      }
      const metrics = await (await fetch(`${q}/metrics`)).text();
      expect(metrics).toContain(`weft_store_spans{store="duckdb"} ${BATCHES * SPANS_PER_BATCH}`);
    } finally {
      second.child.kill('SIGTERM');
      await exited(second.child);
    }
    expect(second.child.exitCode).toBe(0);
  });
});
