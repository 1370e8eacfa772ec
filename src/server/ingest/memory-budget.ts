/**
 * @module One memory budget for request bodies in flight across every receiver, plus a guard on
 * the process's resident memory, so neither many concurrent large requests nor slow uploads
 * that never finish can take the server past `--max-memory`.
 *
 * A request reserves an estimate of what it will cost (its body times BODY_MEMORY_FACTOR: the
 * buffer, the gunzipped copy, the decoded span records) before its body is read, from the
 * declared Content-Length, or chunk by chunk when the length is not declared. When the budget
 * is spent, or the resident size is already near the limit, the request is refused with 503
 * and a Retry-After: the client retries later, nothing is stored. The reservation is returned
 * when the response is finished or the connection closes, whichever comes first.
 */
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TracingError } from '../../model/index.js';

/**
 * Bytes of memory a request costs per byte of body, measured: a 15 MiB OTLP body peaked at about
 * 7× in the server (wire buffer, gunzip output, protobuf/JSON decode, span records).
 */
export const BODY_MEMORY_FACTOR = 6;
/** Resident memory above this share of the limit refuses new bodies until it falls. */
const RSS_GUARD_SHARE = 0.85;
/** Reading the resident size costs a syscall; bodies arriving together share one reading. */
const RSS_SAMPLE_MS = 50;
const REFUSAL_RETRY_AFTER_MS = 2_000;

export interface MemoryBudget {
  /** Bytes that bodies in flight may hold (estimated), at most. */
  readonly limitBytes: number;
  /** Reserves `bytes`; false (nothing reserved) when it does not fit or memory is already high. */
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
  stats(): { reservedBytes: number; refusals: number; peakReservedBytes: number };
}

export interface MemoryBudgetOptions {
  /** Estimated bytes bodies in flight may hold. */
  limitBytes: number;
  /** Resident size at which new bodies are refused whatever the budget says; 0 = no guard. */
  maxRssBytes: number;
  /** The resident size in bytes (tests inject one). */
  rss?: () => number;
}

export function createMemoryBudget(o: MemoryBudgetOptions): MemoryBudget {
  const rss = o.rss ?? (() => process.memoryUsage.rss());
  let reserved = 0;
  let peak = 0;
  let refusals = 0;
  let rssAt = 0;
  let rssValue = 0;
  const rssHigh = (): boolean => {
    if (o.maxRssBytes <= 0) return false;
    const now = Date.now();
    if (now - rssAt >= RSS_SAMPLE_MS) {
      rssValue = rss();
      rssAt = now;
    }
    return rssValue > o.maxRssBytes * RSS_GUARD_SHARE;
  };
  return {
    limitBytes: o.limitBytes,
    tryReserve(bytes) {
      // One request alone may always use the whole budget, so a body under --max-body-bytes is
      // never refused forever on an idle server.
      if ((reserved > 0 && reserved + bytes > o.limitBytes) || rssHigh()) {
        refusals++;
        return false;
      }
      reserved += bytes;
      if (reserved > peak) peak = reserved;
      return true;
    },
    release(bytes) {
      reserved = Math.max(0, reserved - bytes);
    },
    stats: () => ({ reservedBytes: reserved, refusals, peakReservedBytes: peak }),
  };
}

export function memoryRefusal(what: string): TracingError {
  return new TracingError('TRC_INGEST_MEMORY', `the server is at its memory budget (--max-memory) with ${what}; retry later`, {
    httpStatus: 503,
    retryable: true,
    retryAfterMs: REFUSAL_RETRY_AFTER_MS,
  });
}

const RESERVED = Symbol('weft.reservedBytes');
type WithReservation = FastifyRequest & { [RESERVED]?: number };

/** Reserves for a request; the reservation is returned once, when its connection or response ends. */
export function reserveForRequest(budget: MemoryBudget, req: WithReservation, bytes: number): boolean {
  if (!budget.tryReserve(bytes)) return false;
  if (req[RESERVED] === undefined) {
    req[RESERVED] = 0;
    const socket = req.raw.socket;
    const done = (): void => {
      const n = req[RESERVED] ?? 0;
      req[RESERVED] = 0;
      budget.release(n);
      // A keep-alive connection outlives its requests: a listener left on its socket per request
      // kept every request (and its closure) until the connection closed.
      req.raw.removeListener('close', done);
      socket?.removeListener('close', done);
    };
    req.raw.once('close', done);
    socket?.once('close', done);
  }
  req[RESERVED] = (req[RESERVED] ?? 0) + bytes;
  return true;
}

/**
 * Reads a refused body to its end without keeping it, then fails with the refusal. Answering
 * before the body is read makes the server close the connection under a client still writing,
 * which sees EPIPE instead of the 503 and its Retry-After; draining costs bandwidth, no memory,
 * and --request-timeout still bounds how long it may take.
 */
export function discardThenRefuse(payload: NodeJS.ReadableStream, refusal: Error): Transform {
  const sink = new Transform({
    transform(_chunk: Buffer, _enc, cb) {
      cb();
    },
    flush(cb) {
      cb(refusal);
    },
  });
  payload.on('error', (err) => sink.destroy(err));
  return payload.pipe(sink);
}

/**
 * Puts every body this instance reads under the budget: the declared length up front (refused
 * before a byte is read), an undeclared one as it streams in.
 */
export function installBodyBudget(app: FastifyInstance, budget: MemoryBudget, refusalNow?: () => Error | null): void {
  app.addHook('preParsing', async (req: WithReservation, _reply, payload) => {
    // An overloaded pipeline refuses before the body is decoded: decoding batches only to
    // refuse them takes the CPU the store needs to catch up.
    const refused = req.method === 'POST' ? (refusalNow?.() ?? null) : null;
    if (refused) return discardThenRefuse(payload, refused);
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared >= 0) {
      if (reserveForRequest(budget, req, declared * BODY_MEMORY_FACTOR)) return payload;
      return discardThenRefuse(payload, memoryRefusal(`a ${declared}-byte body`));
    }
    // Chunked: reserve as it arrives; a refusal mid-body fails the request with the same 503.
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (!reserveForRequest(budget, req, chunk.length * BODY_MEMORY_FACTOR)) cb(memoryRefusal('a chunked body'));
        else cb(null, chunk);
      },
    });
    payload.on('error', (err) => counted.destroy(err));
    return payload.pipe(counted);
  });
}
