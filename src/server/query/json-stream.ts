/**
 * @module Large answers written as a stream of JSON: a 10k-span trace is about 10 MB of JSON, and
 * one JSON.stringify of it holds the event loop for hundreds of milliseconds (no /healthz, no
 * acknowledgement meanwhile) and the whole string in memory. Streamed, the object is written a
 * few hundred array items at a time with a turn of the event loop between, and the first bytes
 * leave at once.
 *
 * `compact` leaves out of each item the fields that hold their empty default ('' , 0, null, [],
 * {}) except the ones a client may rely on being present; a span then costs about a third.
 */
import { Readable } from 'node:stream';

/** Items serialised per chunk: about 300 KB of span JSON, a few ms of work. */
const ITEMS_PER_CHUNK = 300;

function isEmptyDefault(v: unknown): boolean {
  if (v === '' || v === 0 || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && v !== undefined && Object.keys(v).length === 0;
}

/** An item without its empty-default fields, keeping those named in `keep`. */
export function compactItem(item: Record<string, unknown>, keep: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    if (keep.has(k) || !isEmptyDefault(v)) out[k] = v;
  }
  return out;
}

/**
 * Streams `{...head, [arrayKey]: [items…], ...tail}` as JSON. `mapItem` converts one item
 * lazily, so the converted array never exists whole either.
 */
export function streamJsonObject<T>(head: Record<string, unknown>, arrayKey: string, items: readonly T[], mapItem: (item: T) => unknown, tail: Record<string, unknown>): Readable {
  async function* chunks(): AsyncGenerator<string> {
    const headJson = JSON.stringify(head);
    yield `${headJson.slice(0, -1)}${headJson.length > 2 ? ',' : ''}${JSON.stringify(arrayKey)}:[`;
    for (let i = 0; i < items.length; i += ITEMS_PER_CHUNK) {
      const part = items.slice(i, i + ITEMS_PER_CHUNK).map((it) => JSON.stringify(mapItem(it)));
      yield (i === 0 ? '' : ',') + part.join(',');
      // Let other requests (health probes, acknowledgements) run between chunks.
      await new Promise((r) => setImmediate(r));
    }
    const tailJson = JSON.stringify(tail);
    yield `]${tailJson.length > 2 ? `,${tailJson.slice(1)}` : '}'}`;
  }
  return Readable.from(chunks());
}
