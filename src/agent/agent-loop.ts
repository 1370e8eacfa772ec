/**
 * @module The agent's run loop: a capture source feeds the session table; finished spans go to
 * a sink (the shipper, or straight to the server's ingest when the agent runs in-process).
 *
 * A sweep timer completes idle messages and times out unanswered requests even when no new
 * events arrive. The hot path never throws per event; problems are counted.
 */
import type { SpanRecord } from '../model/index.js';
import type { CaptureSource } from './capture/capture-event.js';
import type { SessionStats, SessionTable } from './sessions/session-table.js';

export interface AgentLoopOptions {
  source: CaptureSource;
  sessions: SessionTable;
  /** Receives every finished span batch. Must not throw. */
  emit: (spans: SpanRecord[]) => void;
  sweepIntervalMs: number;
  /** Wall clock in ns (injected for tests). */
  nowUnixNano: () => bigint;
}

export interface AgentLoop {
  /** Resolves when the source ends or `stop` is called, after a final flush. */
  done: Promise<void>;
  stop(): Promise<void>;
  stats(): SessionStats & { batches: number; events: number; spans: number };
}

export function startAgentLoop(o: AgentLoopOptions): AgentLoop {
  let stopped = false;
  let batches = 0;
  let events = 0;
  let spans = 0;
  const emit = (out: SpanRecord[]): void => {
    if (out.length === 0) return;
    spans += out.length;
    o.emit(out);
  };
  const timer = setInterval(() => emit(o.sessions.sweep(o.nowUnixNano())), o.sweepIntervalMs);
  timer.unref();

  const iterator = o.source[Symbol.asyncIterator]();
  const done = (async () => {
    try {
      while (!stopped) {
        const next = await iterator.next();
        if (next.done) break;
        batches++;
        events += next.value.length;
        emit(o.sessions.push(next.value));
      }
    } finally {
      clearInterval(timer);
      emit(o.sessions.flush());
    }
  })();

  return {
    done,
    async stop() {
      stopped = true;
      await iterator.return?.();
      await done;
    },
    stats: () => ({ ...o.sessions.stats(), batches, events, spans }),
  };
}
