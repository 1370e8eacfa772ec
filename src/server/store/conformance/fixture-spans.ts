/**
 * @module Loads the conformance fixture spans: JSON with decimal-string times, to SpanRecords.
 *
 * Each fixture span lists only the fields that differ from `emptySpan()`, plus an `_id` the
 * tests use to name it. Loading gives a fresh copy every call, so a test may hand the spans
 * to a writer (which takes ownership) and still compare against a pristine set.
 */
import { readFileSync } from 'node:fs';
import { emptySpan } from '../../../model/index.js';
import type { AttributeValue, SpanEvent, SpanRecord } from '../../../model/index.js';

interface FixtureEvent {
  timeUnixNano: string;
  name: string;
  attributes: Record<string, AttributeValue>;
}

type FixtureSpan = Partial<Omit<SpanRecord, 'startTimeUnixNano' | 'endTimeUnixNano' | 'events'>> &
  Pick<SpanRecord, 'source' | 'origin' | 'observationPoint'> & {
    _id: string;
    startTimeUnixNano: string;
    endTimeUnixNano: string;
    events?: FixtureEvent[];
  };

const FIXTURE_URL = new URL('./fixtures/spans.json', import.meta.url);

/** The fixture spans by `_id`, freshly parsed. */
export function loadFixtureSpans(): Map<string, SpanRecord> {
  const raw = JSON.parse(readFileSync(FIXTURE_URL, 'utf8')) as { spans: FixtureSpan[] };
  const out = new Map<string, SpanRecord>();
  for (const f of raw.spans) {
    const { _id, startTimeUnixNano, endTimeUnixNano, events, ...rest } = f;
    const span: SpanRecord = {
      ...emptySpan({ source: f.source, origin: f.origin, observationPoint: f.observationPoint }),
      ...rest,
      startTimeUnixNano: BigInt(startTimeUnixNano),
      endTimeUnixNano: BigInt(endTimeUnixNano),
      events: (events ?? []).map(
        (e): SpanEvent => ({ timeUnixNano: BigInt(e.timeUnixNano), name: e.name, attributes: e.attributes }),
      ),
    };
    out.set(_id, span);
  }
  return out;
}

/** The first fixture span's start time: tests express time ranges relative to it. */
export const FIXTURE_T0_NANO = 1_700_000_000_000_000_000n;
export const NANOS_PER_MS = 1_000_000n;
