/** @module The DuckDB row mapping: every SpanRecord field has a column; bad numbers become warnings. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPAN_RECORD_FIELDS, emptySpan } from '../../../model/index.js';
import { openDuckDbStore } from './duckdb-store.js';
import { COLUMN_OF_FIELD, SPAN_COLUMNS } from './span-rows.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-duckdb-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DuckDB span rows', () => {
  it('maps every SpanRecord field to its own column', () => {
    const columns = new Set(SPAN_COLUMNS.map((c) => c.name));
    const used = new Set<string>();
    for (const f of SPAN_RECORD_FIELDS) {
      const c = COLUMN_OF_FIELD[f];
      expect(columns.has(c), `${f} -> ${c}`).toBe(true);
      expect(used.has(c), `${c} used twice`).toBe(false);
      used.add(c);
    }
    expect([...columns].filter((c) => !used.has(c)).sort()).toStrictEqual(['ord', 'sid']);
  });

  it('stores out-of-domain numbers as absent with a warning instead of failing the batch', async () => {
    const store = await openDuckDbStore({ path: join(dir, 'bad.duckdb') });
    try {
      const bad = {
        ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 's-p' }),
        spanId: 'badbadbadbadbad1',
        clientPort: 70_000,
        processId: 1.5,
        reqTcpSeq: -1,
        requestId: Number.NaN,
        syscallTraceIdReq: 2 ** 60,
      };
      const good = { ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 's-p' }), spanId: 'badbadbadbadbad2' };
      expect(await store.write([bad, good])).toStrictEqual({ accepted: 2 });
      const [got] = await store.findByLinkKeys([{ type: 'span', value: 'badbadbadbadbad1' }], { limit: 1 });
      expect(got).toMatchObject({ clientPort: 0, processId: 0, reqTcpSeq: 0, requestId: null, syscallTraceIdReq: 0 });
      expect(got?.warnings).toHaveLength(5);
      expect(got?.warnings.some((w) => /^store: clientPort 70000 is out of range/.test(w))).toBe(true);
      const [ok] = await store.findByLinkKeys([{ type: 'span', value: 'badbadbadbadbad2' }], { limit: 1 });
      expect(ok).toStrictEqual(good);
    } finally {
      await store.close();
    }
  });

  it('stores each span its own resource when neighbours share, differ in one value, in key order or in size', async () => {
    const store = await openDuckDbStore({ path: join(dir, 'resources.duckdb') });
    try {
      const shared = { 'host.name': 'a', 'process.pid': 7, 'k8s.pod': 'p' };
      const resources = [
        shared,
        { ...shared },
        { ...shared, 'process.pid': 8 },
        { 'process.pid': 8, 'host.name': 'a', 'k8s.pod': 'p' },
        { 'host.name': 'a', 'process.pid': 8 },
        {},
        {},
        { 'host.name': 'a', 'process.pid': 8, 'k8s.pod': 'p', extra: true },
        { 'host.name': 'a', 'process.pid': 8, 'k8s.pod': 'p', extra: true },
      ];
      const spans = resources.map((resource, i) => ({
        ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 'app' }),
        traceId: 'feedfeedfeedfeedfeedfeedfeedfeed',
        spanId: `00000000000000${String(i).padStart(2, '0')}`,
        resource: { ...resource },
      }));
      await store.write(spans);
      const got = await store.getTrace('feedfeedfeedfeedfeedfeedfeedfeed');
      const bySpan = new Map(got.map((s) => [s.spanId, s]));
      spans.forEach((s) => {
        expect(bySpan.get(s.spanId)?.resource).toStrictEqual(s.resource);
        expect(JSON.stringify(bySpan.get(s.spanId)?.resource)).toBe(JSON.stringify(s.resource));
      });
    } finally {
      await store.close();
    }
  });

  it('reuses data chunks between writes without carrying NULLs, strings or numbers over', async () => {
    const store = await openDuckDbStore({ path: join(dir, 'reuse.duckdb') });
    try {
      // Several chunks a write, so later writes fill chunks an earlier one emptied: sparse rows
      // (NULLs), then full rows (no NULL), then sparse again with shorter strings.
      const n = 1100;
      const sparse = (trace: string) =>
        Array.from({ length: n }, (_, i) => ({
          ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 's-p' }),
          traceId: trace,
          spanId: `${trace.slice(0, 8)}${String(i).padStart(8, '0')}`,
          startTimeUnixNano: BigInt(i),
          endTimeUnixNano: BigInt(i + 1),
        }));
      const full = (trace: string) =>
        sparse(trace).map((s, i) => ({
          ...s,
          parentSpanId: `parent-of-span-number-${i}`,
          name: `operation with a long name number ${i}`,
          service: 'svc',
          statusMessage: 'status message long enough to leave the inline slot',
          attributes: { 'http.route': `/r/${i}`, n: i },
          resource: { 'host.name': `host-${i % 3}` },
          protocol: 'http',
          endpoint: `/e/${i}`,
          requestId: i,
          responseCode: 200 + (i % 3),
          clientIp: '10.0.0.1',
          serverIp: '10.0.0.2',
          clientPort: 40000 + (i % 1000),
          serverPort: 80,
          reqTcpSeq: 1 + i,
          processId: 42,
          processName: 'nginx',
          xRequestIdReq: `x-${i}`,
          syscallTraceIdReq: 7 + i,
          warnings: ['w'],
        }));
      const writes = [sparse('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1'), full('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2'), sparse('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3')];
      for (const w of writes) await store.write(w);
      for (const w of writes) {
        const got = await store.getTrace(w[0]?.traceId ?? '');
        got.sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
        expect(got).toStrictEqual(w);
      }
    } finally {
      await store.close();
    }
  });
});
