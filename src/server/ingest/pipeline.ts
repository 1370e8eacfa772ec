/**
 * @module The ingest pipeline: group commit and backpressure between receivers and the store.
 *
 * Receivers call `submit` concurrently. While one store write is in flight, new batches queue;
 * when it finishes, everything queued (up to `maxBatchSpans`) goes into the next single write,
 * so the cost of a durable commit (one WAL fsync) is shared by every request that waited for
 * it. Each submit resolves when the write containing it is durable. When more than
 * `maxPendingSpans` would be waiting, a submit is refused at once (429) and nothing of it is
 * stored, so overload turns into client retries rather than unbounded memory.
 */
import type { Logger } from 'pino';
import { TracingError } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import type { SpanWriter } from '../store/store.js';
import type { IngestSink } from './ingest.js';

export interface IngestPipelineOptions {
  /** Spans queued or being written, at most; a submit that would exceed it is refused (429). */
  maxPendingSpans: number;
  /** Spans per store write, at most; one submit larger than this is written alone, unsplit. */
  maxBatchSpans: number;
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
  /** Spans made durable. */
  writtenSpans: number;
  /** Spans refused with TRC_INGEST_OVERLOADED. */
  rejectedOverload: number;
  /** Store writes completed successfully. */
  batches: number;
}

export interface IngestPipeline extends IngestSink {
  stats(): IngestPipelineStats;
  /** Refuses new submits, waits until every accepted one has settled. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  spans: SpanRecord[];
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

class GroupCommitPipeline implements IngestPipeline {
  private readonly queue: Pending[] = [];
  private queuedSpans = 0;
  private inFlightSpans = 0;
  private writing = false;
  private scheduled = false;
  private closed = false;
  private writtenSpans = 0;
  private rejectedOverload = 0;
  private batches = 0;
  private drained: (() => void)[] = [];
  private readonly schedule: (run: () => void) => void;

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
  }

  submit(spans: SpanRecord[]): Promise<void> {
    if (this.closed) {
      return Promise.reject(new TracingError('TRC_INGEST_CLOSED', 'the ingest pipeline is shutting down', { httpStatus: 503, retryable: true }));
    }
    if (spans.length === 0) return Promise.resolve();
    const pending = this.queuedSpans + this.inFlightSpans;
    if (pending + spans.length > this.opts.maxPendingSpans) {
      this.rejectedOverload += spans.length;
      return Promise.reject(
        new TracingError(
          'TRC_INGEST_OVERLOADED',
          `ingest overloaded: ${pending} spans pending, this batch of ${spans.length} would exceed the limit of ${this.opts.maxPendingSpans}; retry later`,
          { httpStatus: 429, retryable: true },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ spans, resolve, reject });
      this.queuedSpans += spans.length;
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
    this.writing = true;
    const group: Pending[] = [];
    let count = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (group.length > 0 && count + next.spans.length > this.opts.maxBatchSpans) break;
      this.queue.shift();
      group.push(next);
      count += next.spans.length;
    }
    this.queuedSpans -= count;
    this.inFlightSpans = count;
    const batch: SpanRecord[] = group.length === 1 ? (group[0] as Pending).spans : group.flatMap((p) => p.spans);
    try {
      await this.store.write(batch);
      this.writtenSpans += count;
      this.batches++;
      for (const p of group) p.resolve();
    } catch (cause) {
      this.opts.logger?.error({ err: cause, spans: count }, 'store write failed');
      const err = storeWriteError(count, cause);
      for (const p of group) p.reject(err);
    } finally {
      this.inFlightSpans = 0;
      this.writing = false;
    }
    if (this.queue.length > 0) this.kick();
    else this.notifyDrained();
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
