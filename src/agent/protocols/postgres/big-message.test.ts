/**
 * @module PostgreSQL messages over the agent's 4 KiB message cap (issue 8, A4), on a recorded
 * pgbench run whose Parse alone is ~5.6 KiB: the batch is cut before its Execute, yet it ran,
 * and the answer says so; it must not be labelled PREPARE.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../model/index.js';
import { importCapture } from '../../capture/pcap/import-capture.js';

const HERE = dirname(fileURLToPath(import.meta.url));

describe('PostgreSQL batches past the message cap', () => {
  it('an executed SELECT cut by the cap is a SELECT with its rows, marked truncated', async () => {
    const spans: SpanRecord[] = [];
    await importCapture(readFileSync(join(HERE, 'testdata/pgbench-big-select.pcap')), { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
    const big = spans.filter((s) => s.requestResource.startsWith('SELECT id, name FROM items WHERE id IN'));
    expect(big).toHaveLength(3);
    for (const s of big) {
      expect(s.requestType).toBe('SELECT');
      expect(s.attributes['weft.payload_truncated']).toBe(true);
      expect(s.attributes['db.response.returned_rows']).toBe(2);
    }
    expect(spans.filter((s) => s.requestType === 'PREPARE')).toEqual([]);
  });
});
