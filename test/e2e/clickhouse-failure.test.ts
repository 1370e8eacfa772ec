/**
 * @module ClickHouse is killed during ingest and comes back, then stalls (SIGSTOP) and resumes:
 * senders get 503 + Retry-After (gRPC UNAVAILABLE) while it is away or stuck, writes resume
 * without restarting Weft, and every span that was acknowledged is in ClickHouse afterwards.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeOtlpRequest } from '../../src/apm/otlp/index.js';
import { emptySpan } from '../../src/model/index.js';
import { openClickHouseStore } from '../../src/server/store/clickhouse/clickhouse-store.js';
import { startClickHouse } from '../../src/server/store/clickhouse/testing/clickhouse-process.js';
import type { ClickHouseProcess } from '../../src/server/store/clickhouse/testing/clickhouse-process.js';
import { startTestWeft } from './weft-harness.js';
import type { TestWeft } from './weft-harness.js';

const SPANS_PER_REQUEST = 50;
const T0_NANO = BigInt(Date.now()) * 1_000_000n;

let ch: ClickHouseProcess;
let weft: TestWeft;

beforeAll(async () => {
  ch = await startClickHouse();
  weft = await startTestWeft({ store: { kind: 'clickhouse', url: `${ch.url}/failure`, cluster: null, retentionDays: null } });
}, 60_000);

afterAll(async () => {
  await weft?.close();
  await ch?.destroy();
});

/** An OTLP/JSON body of `n` spans of one trace; span ids are `seq`-numbered and unique. */
function otlpBody(seq: number, n: number): { body: string; spanIds: string[] } {
  const traceId = (0x7e000000n + BigInt(seq)).toString(16).padStart(32, '0');
  const spanIds: string[] = [];
  const spans = [];
  for (let i = 0; i < n; i++) {
    const spanId = (BigInt(seq) * 1000n + BigInt(i) + 1n).toString(16).padStart(16, '0');
    spanIds.push(spanId);
    const start = T0_NANO + BigInt(seq) * 1_000_000n + BigInt(i);
    spans.push({ traceId, spanId, name: `op-${i % 7}`, kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1000n) });
  }
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'failover' } }] }, scopeSpans: [{ spans }] }] };
  return { body: JSON.stringify(body), spanIds };
}

interface SendLog {
  acked: Set<string>;
  statuses: Map<number, number>;
  retryAfter: Set<string>;
}

async function sendOne(seq: number, log: SendLog): Promise<number> {
  const { body, spanIds } = otlpBody(seq, SPANS_PER_REQUEST);
  let status = 0;
  try {
    const res = await fetch(`${weft.urls.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    status = res.status;
    if (status >= 500 || status === 429) log.retryAfter.add(res.headers.get('retry-after') ?? '');
    await res.arrayBuffer();
  } catch {
    status = -1;
  }
  log.statuses.set(status, (log.statuses.get(status) ?? 0) + 1);
  if (status >= 200 && status < 300) for (const id of spanIds) log.acked.add(id);
  return status;
}

describe('ClickHouse down during ingest', () => {
  it('refuses with 503 + Retry-After while away or stalled, resumes without a restart, loses nothing acknowledged', async () => {
    const log: SendLog = { acked: new Set(), statuses: new Map(), retryAfter: new Set() };
    let seq = 0;
    let sending = true;
    // Four concurrent senders, as several SDK exporters would be.
    const senders = Array.from({ length: 4 }, async () => {
      while (sending) await sendOne(seq++, log);
    });
    // Enough acknowledged spans around each event that a loss would show; on a CI machine running
    // several suites at once ingest into ClickHouse managed ~60 spans/s (2,000 took over 30 s).
    const STEP = 500;
    const waitAcked = async (n: number): Promise<void> => {
      const deadline = Date.now() + 60_000;
      while (log.acked.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };

    await waitAcked(STEP);
    const beforeStop = log.acked.size;
    expect(beforeStop).toBeGreaterThanOrEqual(STEP);
    await ch.stop('SIGKILL'); // a crash while batches are in flight; returns once the server is gone
    const refusedBefore = log.statuses.get(503) ?? 0;
    const ackedAtExit = log.acked.size;
    await new Promise((r) => setTimeout(r, 2_000));
    const ackedWhileDown = log.acked.size;
    // Nothing is acknowledged while ClickHouse is gone (a batch already accepted may still answer).
    expect(ackedWhileDown - ackedAtExit).toBeLessThanOrEqual(4 * SPANS_PER_REQUEST);
    expect((log.statuses.get(503) ?? 0) - refusedBefore).toBeGreaterThan(0);

    // gRPC senders see UNAVAILABLE while it is away.
    const grpcCode = await otlpGrpcStatus(weft.urls.otlpGrpc);
    expect(grpcCode).toBe(grpc.status.UNAVAILABLE);

    await ch.start();
    await waitAcked(ackedWhileDown + STEP);
    expect(log.acked.size, 'writes resume once ClickHouse is back, without a Weft restart').toBeGreaterThanOrEqual(ackedWhileDown + STEP);

    // Slow: the server stops answering (SIGSTOP) for longer than the ingest acknowledgement wait;
    // senders are refused (503/429 with Retry-After) instead of hanging, and it recovers on SIGCONT.
    const pid = ch.pid();
    expect(pid).toBeDefined();
    const refusedBeforePause = (log.statuses.get(503) ?? 0) + (log.statuses.get(429) ?? 0);
    process.kill(pid as number, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 7_000));
    } finally {
      process.kill(pid as number, 'SIGCONT');
    }
    expect((log.statuses.get(503) ?? 0) + (log.statuses.get(429) ?? 0)).toBeGreaterThan(refusedBeforePause);
    const ackedAfterPause = log.acked.size;
    await waitAcked(ackedAfterPause + STEP);
    sending = false;
    await Promise.all(senders);
    expect(log.acked.size).toBeGreaterThanOrEqual(ackedAfterPause + STEP);
    expect([...log.retryAfter].every((v) => /^[1-9][0-9]*$/.test(v))).toBe(true);

    // Every acknowledged span is stored: read them back through a fresh store on the same database.
    const check = await openClickHouseStore({ url: `${ch.url}/failure` });
    try {
      const ids = [...log.acked];
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += 1000) {
        const got = await check.findByLinkKeys(
          ids.slice(i, i + 1000).map((value) => ({ type: 'span' as const, value })),
          { limit: 2000 },
        );
        for (const s of got) found.add(s.spanId);
      }
      const lost = ids.filter((id) => !found.has(id));
      expect(lost, `${lost.length} acknowledged spans missing`).toStrictEqual([]);
    } finally {
      await check.close();
    }
  }, 300_000);
});

/** Sends one OTLP gRPC Export with one span and returns the gRPC status code. */
async function otlpGrpcStatus(target: string): Promise<number> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  const span = { ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 's-app' }), traceId: '7f'.repeat(16), spanId: '7f'.repeat(8), service: 'failover', name: 'grpc', startTimeUnixNano: T0_NANO, endTimeUnixNano: T0_NANO + 1n };
  const body = Buffer.from(encodeOtlpRequest([span]));
  try {
    return await new Promise<number>((resolve) => {
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), (err) =>
        resolve(err ? err.code : grpc.status.OK),
      );
    });
  } finally {
    client.close();
  }
}
