/**
 * @module An in-memory IngestSink for receiver tests: records batches, can be told to fail.
 */
import type { SpanRecord } from '../../../model/index.js';
import type { IngestSink } from '../ingest.js';

export interface FakeSink extends IngestSink {
  readonly spans: SpanRecord[];
  /** Resolves once at least `count` spans were submitted. */
  waitFor(count: number): Promise<SpanRecord[]>;
  /** The next submits reject with this error (until set back to null). */
  failWith: unknown;
}

export function createFakeSink(): FakeSink {
  const waiters: { count: number; resolve: (s: SpanRecord[]) => void }[] = [];
  const sink: FakeSink = {
    spans: [],
    failWith: null,
    submit(spans) {
      if (sink.failWith !== null) return Promise.reject(sink.failWith);
      sink.spans.push(...spans);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i];
        if (w && sink.spans.length >= w.count) {
          waiters.splice(i, 1);
          w.resolve(sink.spans);
        }
      }
      return Promise.resolve();
    },
    waitFor(count) {
      if (sink.spans.length >= count) return Promise.resolve(sink.spans);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
  return sink;
}
