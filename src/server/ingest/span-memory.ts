/**
 * @module An estimate of the heap a decoded span holds, so spans waiting for the store can be
 * bounded by bytes (a count bound lets a few spans with megabytes of attributes through, and
 * over-counts tiny ones). Not exact (V8's object layout is not observable); it errs high:
 * 20k decoded OTLP spans of the bench payload held 963 B each (protobuf) and 998 B (JSON) after
 * a full GC, and are estimated at 1,174 B. Strings count a byte a character (V8 keeps Latin-1
 * text so; other text takes two, which the base allowance absorbs for short names).
 */
import type { AttributeValue, SpanRecord } from '../../model/index.js';

/** The record itself: ~70 fields, bigint times, its strings' headers. */
const SPAN_BASE_BYTES = 640;
/** A property of an attribute map, besides its key and value characters. */
const ATTRIBUTE_BYTES = 48;
const EVENT_BYTES = 120;

function mapBytes(map: Record<string, AttributeValue>): number {
  let n = 0;
  for (const key in map) {
    const v = map[key];
    n += ATTRIBUTE_BYTES + key.length + (typeof v === 'string' ? v.length : 8);
  }
  return n;
}

export function spanMemoryBytes(s: SpanRecord): number {
  let n = SPAN_BASE_BYTES + (s.name.length + s.service.length + s.requestResource.length + s.statusMessage.length) + mapBytes(s.attributes);
  for (const e of s.events) n += EVENT_BYTES + e.name.length + mapBytes(e.attributes);
  return n;
}

/** Sum of spanMemoryBytes over a batch. Resources are shared by a batch's spans, so not counted per span. */
export function batchMemoryBytes(spans: readonly SpanRecord[]): number {
  let n = 0;
  for (const s of spans) n += spanMemoryBytes(s);
  return n;
}
