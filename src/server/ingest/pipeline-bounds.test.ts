/**
 * @module The pipeline's bounds that keep clients alive under overload: a batch that can never
 * fit is 413 (not "retry later"), a submit whose durable write would come after its deadline is
 * refused with 429 and a retry hint instead of waiting past the client's export timeout, also
 * when it is already in a store write that stalls.
 */
import { describe, expect, it } from 'vitest';
import { emptySpan, isTracingError } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import type { SpanWriter, WriteResult } from '../store/store.js';
import { createIngestPipeline } from './pipeline.js';

function spans(n: number): SpanRecord[] {
  return Array.from({ length: n }, (_, i) => ({ ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'app' }), spanId: i.toString(16).padStart(16, '0') }));
}

/** A writer whose every write takes `ms` of (fake) time, advanced by the test's clock. */
function slowWriter(clock: { now: number }, ms: number): { writer: SpanWriter; written: number[] } {
  const written: number[] = [];
  return {
    written,
    writer: {
      async write(batch): Promise<WriteResult> {
        await new Promise((r) => setTimeout(r, 5));
        clock.now += ms;
        written.push(batch.length);
        return { accepted: batch.length };
      },
    },
  };
}

async function outcome(p: Promise<void>): Promise<{ ok: boolean; status?: number; code?: string; retryAfterMs?: number | undefined; message?: string }> {
  try {
    await p;
    return { ok: true };
  } catch (err) {
    if (!isTracingError(err)) throw err;
    return { ok: false, status: err.httpStatus, code: err.code, retryAfterMs: err.retryAfterMs, message: err.message };
  }
}

describe('ingest pipeline bounds', () => {
  it('refusalNow: null while there is room, a 429 with a hint once the queue is full (asked before decoding a body)', async () => {
    const clock = { now: 0 };
    const { writer } = slowWriter(clock, 10);
    const p = createIngestPipeline(writer, { maxPendingSpans: 10, maxBatchSpans: 10, maxAckWaitMs: 5000, now: () => clock.now });
    expect(p.refusalNow()).toBeNull();
    const first = p.submit(spans(10));
    expect(p.refusalNow()).toMatchObject({ httpStatus: 429, code: 'TRC_INGEST_OVERLOADED' });
    expect(p.refusalNow()?.retryAfterMs).toBeGreaterThanOrEqual(1000);
    await first;
    expect(p.refusalNow()).toBeNull();
  });

  it('answers 413 naming --max-pending-spans for a batch that can never fit, even when idle', async () => {
    const clock = { now: 0 };
    const { writer, written } = slowWriter(clock, 1);
    const p = createIngestPipeline(writer, { maxPendingSpans: 100, maxBatchSpans: 50, maxAckWaitMs: 5000, now: () => clock.now });
    const r = await outcome(p.submit(spans(101)));
    expect(r).toMatchObject({ ok: false, status: 413, code: 'TRC_INGEST_BATCH_TOO_LARGE' });
    expect(r.message).toContain('--max-pending-spans');
    expect(r.message).toContain('100');
    expect(written).toStrictEqual([]);
    // One that fits on an idle server is accepted.
    expect((await outcome(p.submit(spans(100)))).ok).toBe(true);
  });

  it('refuses overload with a Retry-After hint', async () => {
    const clock = { now: 0 };
    const { writer } = slowWriter(clock, 10);
    const p = createIngestPipeline(writer, { maxPendingSpans: 10, maxBatchSpans: 10, maxAckWaitMs: 5000, now: () => clock.now });
    const first = p.submit(spans(10));
    const r = await outcome(p.submit(spans(1)));
    expect(r).toMatchObject({ ok: false, status: 429, code: 'TRC_INGEST_OVERLOADED' });
    expect(r.retryAfterMs).toBeGreaterThanOrEqual(1000);
    await first;
  });

  it('refuses a queued submit with 429 once its durable write would end past the ack deadline; none of it is stored', async () => {
    const clock = { now: 0 };
    // Each write takes 3 s of clock time, the deadline is 5 s: the third queued batch cannot make it.
    const { writer, written } = slowWriter(clock, 3000);
    const p = createIngestPipeline(writer, { maxPendingSpans: 1000, maxBatchSpans: 10, maxAckWaitMs: 5000, now: () => clock.now });
    const results = await Promise.all([10, 10, 10].map((n) => outcome(p.submit(spans(n)))));
    expect(results[0]?.ok).toBe(true);
    expect(results[2]).toMatchObject({ ok: false, status: 429, code: 'TRC_INGEST_OVERLOADED' });
    expect(results[2]?.retryAfterMs).toBeGreaterThanOrEqual(1000);
    const accepted = results.filter((r) => r.ok).length;
    expect(written.reduce((a, b) => a + b, 0)).toBe(accepted * 10);
    expect(p.stats().rejectedOverload).toBe((3 - accepted) * 10);
  });

  it('refuses at once when the measured write rate says the queue cannot drain before the deadline (an idle pipeline always takes a batch)', async () => {
    const clock = { now: 0 };
    // 1 ms of clock per span written; the second write waits until the test lets it go.
    let release: () => void = () => undefined;
    let writes = 0;
    const writer: SpanWriter = {
      async write(batch) {
        if (++writes === 2) await new Promise<void>((r) => (release = r));
        clock.now += batch.length;
        return { accepted: batch.length };
      },
    };
    const p = createIngestPipeline(writer, { maxPendingSpans: 100_000, maxBatchSpans: 100_000, maxAckWaitMs: 1000, now: () => clock.now });
    await p.submit(spans(500)); // measures the rate: 500 spans took 500 ms
    const inFlight = p.submit(spans(600)); // accepted (600 ms of work), its write held
    await new Promise((r) => setImmediate(r));
    const r = await outcome(p.submit(spans(5000))); // 5.6 s of work behind it: refused at once
    expect(r).toMatchObject({ ok: false, status: 429, code: 'TRC_INGEST_OVERLOADED' });
    release();
    await inFlight;
    expect(writes).toBe(2);
  });

  it('answers a submit whose write stalls past the deadline with 429, and never acknowledges it when the write ends later', async () => {
    let finish: () => void = () => undefined;
    const stalled: SpanWriter = {
      write: (batch): Promise<WriteResult> => new Promise((resolve) => (finish = () => resolve({ accepted: batch.length }))),
    };
    const pipeline = createIngestPipeline(stalled, { maxPendingSpans: 1000, maxBatchSpans: 1000, maxAckWaitMs: 50 });
    const started = Date.now();
    const got = await outcome(pipeline.submit(spans(10)));
    expect(got).toMatchObject({ ok: false, status: 429, code: 'TRC_INGEST_OVERLOADED' });
    expect(got.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(2000);
    // The store finishes later: nothing is answered twice, and the pipeline drains.
    finish();
    await pipeline.close();
    expect(pipeline.stats().writtenSpans).toBe(10);
  });
});
