/**
 * @module The recorded real spans of test/ui/testdata (see demo-traces.md) as SpanRecords.
 */
import { readFileSync } from 'node:fs';
import type { SpanRecord } from '../../src/model/index.js';

const DEMO_FILE = new URL('./testdata/demo-traces.spans.json', import.meta.url);

/** The trace ids recorded, in the order `weft demo` printed them. */
export const DEMO_TRACE_IDS = ['aa02dc9f2a591fd869d23ba6cc6edb77', 'ffa8e1ebb2d30f2a721188b13fa19dea', 'adec7fd2d345aed00bad33a85310e918'] as const;

/** Every recorded span, times as bigint again. A fresh copy each call (stores take ownership). */
export function demoSpans(): SpanRecord[] {
  const raw = JSON.parse(readFileSync(DEMO_FILE, 'utf8')) as (Omit<SpanRecord, 'startTimeUnixNano' | 'endTimeUnixNano' | 'events'> & {
    startTimeUnixNano: string;
    endTimeUnixNano: string;
    events: { timeUnixNano: string; name: string; attributes: SpanRecord['attributes'] }[];
  })[];
  return raw.map((s) => ({
    ...s,
    startTimeUnixNano: BigInt(s.startTimeUnixNano),
    endTimeUnixNano: BigInt(s.endTimeUnixNano),
    events: s.events.map((e) => ({ ...e, timeUnixNano: BigInt(e.timeUnixNano) })),
  }));
}
