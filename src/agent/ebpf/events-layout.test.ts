/**
 * @module The record layout has one source (events.h): events.gen.ts must be what
 * scripts/gen-events.ts makes of it, and the compiled addon must agree byte for byte.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENTS_HEADER, EVENTS_MODULE, parseEventsHeader, renderEventsModule } from '../../../scripts/gen-events.js';
import { EVENT_C_OFFSETS, EVENT_HEADER_SIZE, WEFT_MAX_DATA_PAYLOAD, WEFT_MAX_PAYLOAD } from './events.gen.js';
import { loadNativeAddon } from './native.js';

const inCi = process.env.CI === 'true';

describe('eBPF record layout', () => {
  it('events.gen.ts is up to date with events.h', () => {
    expect(readFileSync(EVENTS_MODULE, 'utf8')).toBe(renderEventsModule(readFileSync(EVENTS_HEADER, 'utf8')));
  });

  it('the header parser rejects fields it cannot lay out', () => {
    expect(() => parseEventsHeader('struct weft_event {\n\tfloat x;\n};')).toThrow(/unsupported/);
    expect(parseEventsHeader('struct weft_event {\n\t__u8 a;\n\t__u64 b;\n};').size).toBe(16);
  });

  const loaded = loadNativeAddon();
  it.skipIf(!loaded.ok && !inCi)('the compiled addon has the same sizeof/offsetof table', () => {
    if (!loaded.ok) throw new Error(`native addon unavailable in CI: ${loaded.reason}`);
    const layout = loaded.addon.layout();
    expect(layout.size).toBe(EVENT_HEADER_SIZE);
    expect(layout.fields).toEqual(EVENT_C_OFFSETS);
    expect(layout.maxPayload).toBe(WEFT_MAX_PAYLOAD);
    expect(layout.maxDataPayload).toBe(WEFT_MAX_DATA_PAYLOAD);
  });
});
