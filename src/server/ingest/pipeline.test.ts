/** @module Group commit and backpressure of the ingest pipeline, against a controllable fake writer. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TracingError, emptySpan } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import type { SpanWriter, WriteResult } from '../store/store.js';
import { createIngestPipeline } from './pipeline.js';

interface WriteCall {
  spans: SpanRecord[];
  succeed: () => void;
  fail: (err: unknown) => void;
}

/** A writer whose writes finish only when the test says so. */
function controllableWriter(): { writer: SpanWriter; calls: WriteCall[] } {
  const calls: WriteCall[] = [];
  const writer: SpanWriter = {
    write(spans) {
      return new Promise<WriteResult>((resolve, reject) => {
        calls.push({ spans: [...spans], succeed: () => resolve({ accepted: spans.length }), fail: reject });
      });
    },
  };
  return { writer, calls };
}

/** A scheduler the test runs by hand, instead of setImmediate. */
function manualScheduler(): { schedule: (run: () => void) => void; run: () => void; size: () => number } {
  const tasks: (() => void)[] = [];
  return {
    schedule: (task) => void tasks.push(task),
    run: () => {
      while (tasks.length > 0) (tasks.shift() as () => void)();
    },
    size: () => tasks.length,
  };
}

/** Lets every pending promise callback run (one macrotask turn; no timing involved). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let nextId = 0;
function spans(n: number): SpanRecord[] {
  return Array.from({ length: n }, () => ({
    ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'app' }),
    spanId: (nextId++).toString(16).padStart(16, '0'),
  }));
}

function track(p: Promise<void>): { state: () => 'pending' | 'ok' | 'failed'; error: () => unknown; promise: Promise<void> } {
  let state: 'pending' | 'ok' | 'failed' = 'pending';
  let error: unknown;
  const promise = p.then(
    () => {
      state = 'ok';
    },
    (e: unknown) => {
      state = 'failed';
      error = e;
    },
  );
  return { state: () => state, error: () => error, promise };
}

describe('ingest pipeline', () => {
  it('coalesces submits that arrive during a write into one store write', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 1000, maxBatchSpans: 1000, schedule: sched.schedule });
    const a = track(p.submit(spans(3)));
    sched.run();
    expect(calls).toHaveLength(1);
    const b = track(p.submit(spans(2)));
    const c = track(p.submit(spans(4)));
    sched.run();
    expect(calls).toHaveLength(1); // still one write in flight
    expect(p.stats().pendingSpans).toBe(9);

    (calls[0] as WriteCall).succeed();
    await settle();
    expect(a.state()).toBe('ok');
    expect([b.state(), c.state()]).toStrictEqual(['pending', 'pending']);
    sched.run();
    expect(calls).toHaveLength(2);
    expect(calls[1]?.spans).toHaveLength(6);
    (calls[1] as WriteCall).succeed();
    await settle();
    expect([b.state(), c.state()]).toStrictEqual(['ok', 'ok']);
    expect(p.stats()).toStrictEqual({ pendingSpans: 0, pendingBytes: 0, writtenSpans: 9, rejectedOverload: 0, batches: 2 });
  });

  it('coalesces submits made before the scheduled write runs', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 1000, maxBatchSpans: 1000, schedule: sched.schedule });
    const all = [track(p.submit(spans(1))), track(p.submit(spans(2))), track(p.submit(spans(3)))];
    expect(sched.size()).toBe(1);
    sched.run();
    expect(calls.map((c) => c.spans.length)).toStrictEqual([6]);
    (calls[0] as WriteCall).succeed();
    await Promise.all(all.map((t) => t.promise));
    expect(all.every((t) => t.state() === 'ok')).toBe(true);
  });

  it('resolves a submit only once the write containing it is durable', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 100, maxBatchSpans: 100, schedule: sched.schedule });
    const batch = spans(5);
    const a = track(p.submit(batch));
    sched.run();
    await settle();
    expect(a.state()).toBe('pending');
    expect(calls[0]?.spans).toStrictEqual(batch);
    (calls[0] as WriteCall).succeed();
    await a.promise;
    expect(a.state()).toBe('ok');
  });

  it('splits queued submits into writes of at most maxBatchSpans, never splitting a submit', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 1000, maxBatchSpans: 10, schedule: sched.schedule });
    const subs = [4, 4, 4, 30, 1].map((n) => track(p.submit(spans(n))));
    for (let i = 0; i < 4; i++) {
      sched.run();
      (calls[i] as WriteCall).succeed();
      await settle();
    }
    expect(calls.map((c) => c.spans.length)).toStrictEqual([8, 4, 30, 1]);
    expect(subs.every((t) => t.state() === 'ok')).toBe(true);
  });

  it('refuses a submit at once with TRC_INGEST_OVERLOADED when pending would exceed the limit, storing none of it', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 10, maxBatchSpans: 100, schedule: sched.schedule });
    const a = track(p.submit(spans(6)));
    sched.run();
    const refused = spans(5);
    const err = await p.submit(refused).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TracingError);
    expect(err).toMatchObject({ code: 'TRC_INGEST_OVERLOADED', httpStatus: 429, retryable: true });
    const fits = track(p.submit(spans(4)));
    expect(p.stats()).toMatchObject({ pendingSpans: 10, rejectedOverload: 5 });

    (calls[0] as WriteCall).succeed();
    await settle();
    sched.run();
    (calls[1] as WriteCall).succeed();
    await Promise.all([a.promise, fits.promise]);
    const written = calls.flatMap((c) => c.spans);
    for (const s of refused) expect(written).not.toContain(s);
    // Room again once the backlog is durable.
    const later = track(p.submit(spans(5)));
    sched.run();
    (calls[2] as WriteCall).succeed();
    await later.promise;
    expect(later.state()).toBe('ok');
    expect(p.stats()).toStrictEqual({ pendingSpans: 0, pendingBytes: 0, writtenSpans: 15, rejectedOverload: 5, batches: 3 });
  });

  it('bounds pending spans by their estimated bytes: a few spans with large attributes are refused (429) while others wait; a lone batch always fits', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const big = (n: number): SpanRecord[] => spans(n).map((s) => ({ ...s, attributes: { payload: 'x'.repeat(100_000) } }));
    // A count bound of 1000 spans would take all of these; 1 MB of estimated bytes does not.
    const p = createIngestPipeline(writer, { maxPendingSpans: 1000, maxBatchSpans: 1000, maxPendingBytes: 1_000_000, schedule: sched.schedule });
    const lone = track(p.submit(big(20)));
    expect(p.stats().pendingBytes).toBeGreaterThanOrEqual(20 * 100_000);
    expect(p.refusalNow()).toMatchObject({ code: 'TRC_INGEST_OVERLOADED', httpStatus: 429 });
    const refused = big(2);
    const err = await p.submit(refused).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TRC_INGEST_OVERLOADED', httpStatus: 429, retryable: true });
    expect(String((err as Error).message)).toContain('--max-memory');
    sched.run();
    (calls[0] as WriteCall).succeed();
    await lone.promise;
    expect(lone.state()).toBe('ok');
    expect(p.stats()).toMatchObject({ pendingSpans: 0, pendingBytes: 0 });
    expect(calls.flatMap((c) => c.spans)).not.toContain(refused[0]);
    // Small spans fit the same bound by the hundred.
    const small = track(p.submit(spans(500)));
    sched.run();
    (calls[1] as WriteCall).succeed();
    await small.promise;
    expect(small.state()).toBe('ok');
  });

  it('refuses a single submit larger than maxPendingSpans with 413 (retrying could never help)', async () => {
    const { writer, calls } = controllableWriter();
    const p = createIngestPipeline(writer, { maxPendingSpans: 10, maxBatchSpans: 10, schedule: manualScheduler().schedule });
    await expect(p.submit(spans(11))).rejects.toMatchObject({ code: 'TRC_INGEST_BATCH_TOO_LARGE', httpStatus: 413 });
    expect(calls).toHaveLength(0);
  });

  it('rejects the submits of a failed write with TRC_STORE_WRITE and goes on with the next', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 100, maxBatchSpans: 100, schedule: sched.schedule });
    const a = track(p.submit(spans(2)));
    const b = track(p.submit(spans(3)));
    sched.run();
    const c = track(p.submit(spans(1)));
    const disk = new Error('disk full');
    (calls[0] as WriteCall).fail(disk);
    await settle();
    expect([a.state(), b.state(), c.state()]).toStrictEqual(['failed', 'failed', 'pending']);
    expect(a.error()).toMatchObject({ code: 'TRC_STORE_WRITE', httpStatus: 503, retryable: true, cause: disk });
    sched.run();
    (calls[1] as WriteCall).succeed();
    await c.promise;
    expect(c.state()).toBe('ok');
    expect(p.stats()).toStrictEqual({ pendingSpans: 0, pendingBytes: 0, writtenSpans: 1, rejectedOverload: 0, batches: 1 });
  });

  it('turns a writer that throws synchronously into TRC_STORE_WRITE', async () => {
    const writer: SpanWriter = {
      write() {
        throw new Error('sync boom');
      },
    };
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 100, maxBatchSpans: 100, schedule: sched.schedule });
    const a = track(p.submit(spans(1)));
    sched.run();
    await a.promise;
    expect(a.error()).toMatchObject({ code: 'TRC_STORE_WRITE' });
  });

  it('resolves an empty submit at once without writing', async () => {
    const { writer, calls } = controllableWriter();
    const p = createIngestPipeline(writer, { maxPendingSpans: 1, maxBatchSpans: 1, schedule: manualScheduler().schedule });
    await p.submit([]);
    expect(calls).toHaveLength(0);
  });

  it('close waits for accepted submits and refuses new ones', async () => {
    const { writer, calls } = controllableWriter();
    const sched = manualScheduler();
    const p = createIngestPipeline(writer, { maxPendingSpans: 100, maxBatchSpans: 100, schedule: sched.schedule });
    const a = track(p.submit(spans(2)));
    sched.run();
    const b = track(p.submit(spans(2)));
    const closed = track(p.close());
    await expect(p.submit(spans(1))).rejects.toMatchObject({ code: 'TRC_INGEST_CLOSED' });
    (calls[0] as WriteCall).succeed();
    await settle();
    expect(closed.state()).toBe('pending');
    sched.run();
    (calls[1] as WriteCall).succeed();
    await closed.promise;
    expect([a.state(), b.state(), closed.state()]).toStrictEqual(['ok', 'ok', 'ok']);
    await p.close();
  });

  it('rejects non-positive limits', () => {
    const { writer } = controllableWriter();
    expect(() => createIngestPipeline(writer, { maxPendingSpans: 0, maxBatchSpans: 1 })).toThrow(TracingError);
  });

  it('uses setImmediate by default, so a real event loop drives it', async () => {
    const written: number[] = [];
    const writer: SpanWriter = {
      write: async (s) => {
        written.push(s.length);
        return { accepted: s.length };
      },
    };
    const p = createIngestPipeline(writer, { maxPendingSpans: 100, maxBatchSpans: 100 });
    await Promise.all([p.submit(spans(1)), p.submit(spans(2))]);
    expect(written).toStrictEqual([3]);
  });

  it('property: every submit settles once; accepted spans are written exactly once; limits hold', async () => {
    type Op = { t: 'submit'; n: number } | { t: 'run' } | { t: 'finish'; ok: boolean };
    const op = fc.oneof(
      fc.record({ t: fc.constant('submit' as const), n: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ t: fc.constant('run' as const) }),
      fc.record({ t: fc.constant('finish' as const), ok: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 12, max: 40 }), async (ops: Op[], maxBatch, maxPending) => {
        const { writer, calls } = controllableWriter();
        const sched = manualScheduler();
        const p = createIngestPipeline(writer, { maxPendingSpans: maxPending, maxBatchSpans: maxBatch, schedule: sched.schedule });
        const subs: { spans: SpanRecord[]; t: ReturnType<typeof track> }[] = [];
        let finished = 0;
        const outcome = new Map<WriteCall, boolean>();
        const finish = async (ok: boolean): Promise<void> => {
          const call = calls[finished];
          if (!call) return;
          finished++;
          outcome.set(call, ok);
          if (ok) call.succeed();
          else call.fail(new Error('x'));
          await settle();
        };
        for (const o of ops) {
          if (o.t === 'submit') {
            const s = spans(o.n);
            subs.push({ spans: s, t: track(p.submit(s)) });
            expect(p.stats().pendingSpans).toBeLessThanOrEqual(maxPending);
          } else if (o.t === 'run') sched.run();
          else await finish(o.ok);
        }
        // Drain: everything left succeeds.
        for (let guard = 0; guard < 1000 && (sched.size() > 0 || finished < calls.length); guard++) {
          sched.run();
          await finish(true);
        }
        await Promise.all(subs.map((s) => s.t.promise));
        expect(p.stats().pendingSpans).toBe(0);
        const okWritten = new Map<SpanRecord, number>();
        for (const c of calls) {
          expect(c.spans.length > maxBatch ? c.spans.length === subs.find((s) => s.spans[0] === c.spans[0])?.spans.length : true).toBe(true);
          if (outcome.get(c)) for (const s of c.spans) okWritten.set(s, (okWritten.get(s) ?? 0) + 1);
        }
        let written = 0;
        for (const s of subs) {
          const state = s.t.state();
          expect(state).not.toBe('pending');
          if (state === 'ok') {
            for (const span of s.spans) expect(okWritten.get(span)).toBe(1);
            written += s.spans.length;
          } else {
            for (const span of s.spans) expect(okWritten.has(span)).toBe(false);
          }
        }
        expect(p.stats().writtenSpans).toBe(written);
      }),
      { numRuns: 150 },
    );
  });
});
