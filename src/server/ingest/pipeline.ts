/**
 * @module The ingest pipeline: group commit and backpressure between receivers and the store.
 *
 * Receivers call `submit` concurrently. While one store write is in flight, new batches queue;
 * when it finishes, everything queued (up to `maxBatchSpans`) goes into the next single write,
 * so the cost of a durable commit (one WAL fsync) is shared by every request that waited for
 * it. Each submit resolves when the write containing it is durable. When more than
 * `maxPendingSpans` would be waiting, a submit is refused at once (429) and nothing of it is
 * stored, so overload turns into client retries rather than unbounded memory.
 *
 * Waiting is bounded in time too: a client gives up after its export timeout (10 s in the OTel
 * SDKs) and then resends, so an acknowledgement later than that only doubles the load. Each
 * submit has a deadline (`maxAckWaitMs`); a submit whose durable write cannot finish by then is
 * refused with 429 and a Retry-After hint while it is still queued (nothing of it stored), and
 * one that the measured write rate says cannot be reached in time is refused at once. A batch
 * larger than `maxPendingSpans` can never be accepted, so it is 413, not "retry later".
 */
import type { Logger } from 'pino';
import { TracingError } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import type { SpanWriter } from '../store/store.js';
import type { IngestSink } from './ingest.js';
import { batchMemoryBytes } from './span-memory.js';

export interface IngestPipelineOptions {
  /** Spans queued or being written, at most; a submit that would exceed it is refused (429). */
  maxPendingSpans: number;
  /**
   * Estimated bytes of decoded spans queued or being written, at most (span-memory.ts); a
   * submit that would exceed it is refused (429), unless nothing is pending (a lone batch always
   * fits, so no batch is refused forever). Default: no byte bound.
   */
  maxPendingBytes?: number;
  /** Spans per store write, at most; one submit larger than this is written alone, unsplit. */
  maxBatchSpans: number;
  /** Longest a submit may wait for its durable write before it is refused (429); default 5 s. */
  maxAckWaitMs?: number;
  /** Clock in ms (tests pass a fake one); default `Date.now`. */
  now?: () => number;
  logger?: Pick<Logger, 'debug' | 'warn' | 'error'>;
  /**
   * Runs the next write soon, after the current I/O callbacks, so requests that arrive together
   * share a write. Default `setImmediate`; tests pass a manual scheduler.
   */
  schedule?: (run: () => void) => void;
}

export interface IngestPipelineStats {
  /** Spans accepted by submit and not yet durable (queued or in the current write). */
  pendingSpans: number;
  /** Estimated heap bytes of those spans (span-memory.ts). */
  pendingBytes: number;
  /** Spans made durable. */
  writtenSpans: number;
  /** Spans refused with TRC_INGEST_OVERLOADED. */
  rejectedOverload: number;
  /** Store writes completed successfully. */
  batches: number;
}

export interface IngestPipeline extends IngestSink {
  stats(): IngestPipelineStats;
  /** The refusal a submit arriving now would get whatever its size, or null (see IngestSink). */
  refusalNow(): TracingError | null;
  /** Refuses new submits, waits until every accepted one has settled. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  spans: SpanRecord[];
  /** Estimated heap bytes of `spans`. */
  bytes: number;
  /** Clock time by which the submit must be acknowledged or refused. */
  deadline: number;
  timer: NodeJS.Timeout | null;
  /** Taken into a store write (no longer in the queue). */
  inWrite: boolean;
  /** Answered already (resolved, or refused at its deadline while its write went on). */
  settled: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function storeWriteError(count: number, cause: unknown): TracingError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TracingError('TRC_STORE_WRITE', `storing ${count} spans failed: ${detail}`, {
    httpStatus: 503,
    retryable: true,
    cause,
  });
}

export const DEFAULT_MAX_ACK_WAIT_MS = 5_000;
/** Bounds of the Retry-After hint: at least a second (HTTP's unit), at most half a minute. */
const MIN_RETRY_AFTER_MS = 1_000;
const MAX_RETRY_AFTER_MS = 30_000;
/** Weight of the newest write in the spans-per-ms estimate. */
const RATE_EWMA_WEIGHT = 0.3;

const mib = (bytes: number): number => Math.round(bytes / (1024 * 1024));

function clampRetryAfter(ms: number): number {
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, Math.ceil(ms / 1000) * 1000));
}

class GroupCommitPipeline implements IngestPipeline {
  private readonly queue: Pending[] = [];
  private queuedSpans = 0;
  private inFlightSpans = 0;
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private writing = false;
  private scheduled = false;
  private closed = false;
  private writtenSpans = 0;
  private rejectedOverload = 0;
  private batches = 0;
  private drained: (() => void)[] = [];
  private readonly schedule: (run: () => void) => void;
  private readonly now: () => number;
  private readonly maxAckWaitMs: number;
  /** Measured store throughput (spans per ms of write time); 0 until the first write. */
  private spansPerMs = 0;
  /** How long the last write took, ms: a queued submit needs at least that much more time. */
  private lastWriteMs = 0;

  constructor(
    private readonly store: SpanWriter,
    private readonly opts: IngestPipelineOptions,
  ) {
    if (!(opts.maxPendingSpans > 0) || !(opts.maxBatchSpans > 0)) {
      throw new TracingError(
        'TRC_CONFIG_INVALID',
        `ingest pipeline limits must be positive (maxPendingSpans: ${opts.maxPendingSpans}, maxBatchSpans: ${opts.maxBatchSpans})`,
      );
    }
    this.schedule = opts.schedule ?? ((run) => void setImmediate(run));
    this.now = opts.now ?? Date.now;
    this.maxAckWaitMs = opts.maxAckWaitMs ?? DEFAULT_MAX_ACK_WAIT_MS;
  }

  /** How long until `spans` more spans would be durable, from the measured write rate (ms). */
  private drainEstimateMs(spans: number): number {
    return this.spansPerMs > 0 ? spans / this.spansPerMs : this.lastWriteMs;
  }

  refusalNow(): TracingError | null {
    if (this.closed) return null; // submit says so itself
    const pending = this.queuedSpans + this.inFlightSpans;
    if (pending >= this.opts.maxPendingSpans) return this.overloaded(0, `${pending} spans pending reach --max-pending-spans (${this.opts.maxPendingSpans})`);
    const maxBytes = this.opts.maxPendingBytes;
    const pendingBytes = this.queuedBytes + this.inFlightBytes;
    if (maxBytes !== undefined && pendingBytes >= maxBytes) return this.overloaded(0, `pending spans hold ~${mib(pendingBytes)} MiB, their share of --max-memory (${mib(maxBytes)} MiB)`);
    if (this.spansPerMs > 0 && this.drainEstimateMs(pending) > this.maxAckWaitMs) {
      return this.overloaded(0, `${pending} spans pending would not be durable within ${this.maxAckWaitMs} ms at the measured store rate`);
    }
    return null;
  }

  private overloaded(count: number, why: string): TracingError {
    this.rejectedOverload += count;
    const retryAfterMs = clampRetryAfter(this.drainEstimateMs(this.queuedSpans + this.inFlightSpans));
    return new TracingError('TRC_INGEST_OVERLOADED', `ingest overloaded: ${why}; retry in ${retryAfterMs / 1000} s`, { httpStatus: 429, retryable: true, retryAfterMs });
  }

  /**
   * Refuses a submit whose deadline passed (or cannot be met). A queued one is dropped, nothing
   * of it stored. One already in a write that has not finished is answered too (the client's
   * export timeout does not wait for a stalled store, e.g. a ClickHouse paused for 7 s): its
   * spans may still become durable, and a retry stores them again, which reads de-duplicate
   * (`sid`); what is never allowed is an ack for spans that are not durable.
   */
  private expire(p: Pending, why: string): void {
    if (p.inWrite) {
      if (p.settled) return;
      p.settled = true;
      p.reject(this.overloaded(p.spans.length, why));
      return;
    }
    const i = this.queue.indexOf(p);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.queuedSpans -= p.spans.length;
    this.queuedBytes -= p.bytes;
    if (p.timer) clearTimeout(p.timer);
    p.reject(this.overloaded(p.spans.length, why));
    this.notifyDrained();
  }

  submit(spans: SpanRecord[]): Promise<void> {
    if (this.closed) {
      return Promise.reject(new TracingError('TRC_INGEST_CLOSED', 'the ingest pipeline is shutting down', { httpStatus: 503, retryable: true }));
    }
    if (spans.length === 0) return Promise.resolve();
    if (spans.length > this.opts.maxPendingSpans) {
      // Retrying cannot help: say which limit and how to fit under it.
      return Promise.reject(
        new TracingError(
          'TRC_INGEST_BATCH_TOO_LARGE',
          `this batch has ${spans.length} spans, more than --max-pending-spans (${this.opts.maxPendingSpans}) allows in one request; send at most ${this.opts.maxPendingSpans} spans per request or raise the limit`,
          { httpStatus: 413 },
        ),
      );
    }
    const pending = this.queuedSpans + this.inFlightSpans;
    if (pending + spans.length > this.opts.maxPendingSpans) {
      return Promise.reject(this.overloaded(spans.length, `${pending} spans pending, this batch of ${spans.length} would exceed --max-pending-spans (${this.opts.maxPendingSpans})`));
    }
    const bytes = batchMemoryBytes(spans);
    const pendingBytes = this.queuedBytes + this.inFlightBytes;
    if (this.opts.maxPendingBytes !== undefined && pending > 0 && pendingBytes + bytes > this.opts.maxPendingBytes) {
      return Promise.reject(this.overloaded(spans.length, `pending spans hold ~${mib(pendingBytes)} MiB, this batch ~${mib(bytes)} MiB would exceed their share of --max-memory (${mib(this.opts.maxPendingBytes)} MiB)`));
    }
    // An idle pipeline takes the batch whatever the estimate: refusing it would keep the estimate
    // from ever being measured again (a rate measured on a slow small write refused every later
    // larger batch for good).
    if (pending > 0 && this.spansPerMs > 0 && this.drainEstimateMs(pending + spans.length) > this.maxAckWaitMs) {
      return Promise.reject(this.overloaded(spans.length, `${pending} spans pending would not be durable within ${this.maxAckWaitMs} ms at the measured store rate`));
    }
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { spans, bytes, resolve, reject, deadline: this.now() + this.maxAckWaitMs, timer: null, inWrite: false, settled: false };
      // A store write that hangs must not hold queued clients past their deadline either.
      p.timer = setTimeout(() => this.expire(p, `not written within ${this.maxAckWaitMs} ms`), this.maxAckWaitMs);
      p.timer.unref();
      this.queue.push(p);
      this.queuedSpans += spans.length;
      this.queuedBytes += bytes;
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      void this.writeNext();
    });
  }

  /** Takes queued submits up to maxBatchSpans (always at least one) and writes them as one batch. */
  private async writeNext(): Promise<void> {
    if (this.writing || this.queue.length === 0) return;
    // Submits that would only be acknowledged after their deadline are refused now, unstored. The
    // oldest one is written whatever the estimate while its deadline has not passed: refusing it
    // too would keep `lastWriteMs` from ever being measured again (one write stalled past the
    // deadline, e.g. ClickHouse paused for 7 s, made every later submit 429 for good).
    const now = this.now();
    const head = this.queue[0];
    for (const p of [...this.queue]) {
      const late = p === head ? now > p.deadline : now + this.lastWriteMs > p.deadline;
      if (late) this.expire(p, `would not be durable within ${this.maxAckWaitMs} ms`);
    }
    if (this.queue.length === 0) return;
    this.writing = true;
    const group: Pending[] = [];
    let count = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (group.length > 0 && count + next.spans.length > this.opts.maxBatchSpans) break;
      this.queue.shift();
      next.inWrite = true;
      group.push(next);
      count += next.spans.length;
      bytes += next.bytes;
    }
    this.queuedSpans -= count;
    this.inFlightSpans = count;
    this.queuedBytes -= bytes;
    this.inFlightBytes = bytes;
    const batch: SpanRecord[] = group.length === 1 ? (group[0] as Pending).spans : group.flatMap((p) => p.spans);
    const started = this.now();
    try {
      await this.store.write(batch);
      const took = Math.max(1, this.now() - started);
      this.lastWriteMs = took;
      const rate = count / took;
      this.spansPerMs = this.spansPerMs === 0 ? rate : this.spansPerMs * (1 - RATE_EWMA_WEIGHT) + rate * RATE_EWMA_WEIGHT;
      this.writtenSpans += count;
      this.batches++;
      for (const p of group) this.settle(p, null);
    } catch (cause) {
      this.opts.logger?.error({ err: cause, spans: count }, 'store write failed');
      const err = storeWriteError(count, cause);
      for (const p of group) this.settle(p, err);
    } finally {
      this.inFlightSpans = 0;
      this.inFlightBytes = 0;
      this.writing = false;
    }
    if (this.queue.length > 0) this.kick();
    else this.notifyDrained();
  }

  /** Answers a written submit (unless its deadline already answered it) and stops its timer. */
  private settle(p: Pending, err: unknown): void {
    if (p.timer) clearTimeout(p.timer);
    if (p.settled) return;
    p.settled = true;
    if (err === null) p.resolve();
    else p.reject(err);
  }

  private notifyDrained(): void {
    if (this.writing || this.queue.length > 0) return;
    const waiters = this.drained;
    this.drained = [];
    for (const w of waiters) w();
  }

  stats(): IngestPipelineStats {
    return {
      pendingSpans: this.queuedSpans + this.inFlightSpans,
      pendingBytes: this.queuedBytes + this.inFlightBytes,
      writtenSpans: this.writtenSpans,
      rejectedOverload: this.rejectedOverload,
      batches: this.batches,
    };
  }

  close(): Promise<void> {
    this.closed = true;
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drained.push(resolve));
  }
}

/**
 * The group-commit sink receivers write into. Does not own the store: closing the pipeline
 * drains it but leaves the store open.
 */
export function createIngestPipeline(store: SpanWriter, opts: IngestPipelineOptions): IngestPipeline {
  return new GroupCommitPipeline(store, opts);
}
