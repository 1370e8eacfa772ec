/**
 * @module What every wire-format converter returns: the spans it kept and why it dropped others.
 *
 * A converter never throws on bad spans. Each bad span is counted in `rejected` with a reason,
 * the rest of the batch is kept (DESIGN.md, "What bad input gets").
 */
import type { SpanRecord } from '../model/index.js';

export interface ConvertResult {
  spans: SpanRecord[];
  /** Spans dropped for a bad or missing id or an impossible time. */
  rejected: number;
  /** One reason per rejected span, at most MAX_REPORTED_ERRORS of them. */
  errors: string[];
}

/** Reasons kept per batch; a hostile batch of a million bad spans must not build a huge answer. */
export const MAX_REPORTED_ERRORS = 20;

/**
 * Converts `items` (parsed spans or segments, independent of each other) `perStep` at a time, one
 * step each: the same result as `convert(items)` in one go.
 */
export function* convertInSteps<T>(items: readonly T[], convert: (chunk: readonly T[]) => ConvertResult, perStep = 64): Generator<void, ConvertResult, undefined> {
  if (items.length <= perStep) return convert(items);
  const out: ConvertResult = { spans: [], rejected: 0, errors: [] };
  for (let i = 0; i < items.length; i += perStep) {
    const r = convert(items.slice(i, i + perStep));
    for (const s of r.spans) out.spans.push(s);
    out.rejected += r.rejected;
    for (const e of r.errors) if (out.errors.length < MAX_REPORTED_ERRORS) out.errors.push(e);
    yield;
  }
  return out;
}

/** Collects kept spans and rejection reasons while a converter walks a batch. */
export class ConvertCollector {
  readonly spans: SpanRecord[] = [];
  rejected = 0;
  readonly errors: string[] = [];

  keep(span: SpanRecord): void {
    this.spans.push(span);
  }

  reject(reason: string): void {
    this.rejected++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(reason);
  }

  result(): ConvertResult {
    return { spans: this.spans, rejected: this.rejected, errors: this.errors };
  }
}

/** Why a span's times are impossible, or null when they are fine. */
export function timeProblem(startTimeUnixNano: bigint, endTimeUnixNano: bigint): string | null {
  if (startTimeUnixNano <= 0n) return 'missing or non-positive start time';
  if (endTimeUnixNano < startTimeUnixNano) return 'end time before start time';
  return null;
}
