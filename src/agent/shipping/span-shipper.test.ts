import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeOtlpProtobuf } from '../../apm/otlp/index.js';
import { emptySpan, type SpanRecord } from '../../model/index.js';
import { createSpanShipper } from './span-shipper.js';

function sysSpan(i: number): SpanRecord {
  const s = emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' });
  s.spanId = (i + 1).toString(16).padStart(16, '0');
  s.name = `GET /${i}`;
  s.startTimeUnixNano = 1_700_000_000_000_000_000n + BigInt(i);
  s.endTimeUnixNano = s.startTimeUnixNano + 1000n;
  s.reqTcpSeq = 1000 + i;
  return s;
}

let server: Server | undefined;
afterEach(() => server?.close());

/**
 * A real HTTP endpoint that decodes OTLP with Weft's decoder; the first `failFirst` requests get
 * `failStatus` (503 by default), with `retryAfter` as Retry-After when given, as Weft's own
 * overloaded ingest answers (429 + Retry-After).
 */
async function receiver(failFirst: number, auth?: string, failStatus = 503, retryAfter?: string): Promise<{ url: string; received: SpanRecord[]; hits: () => number }> {
  const received: SpanRecord[] = [];
  let hits = 0;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits++;
      if (auth && req.headers.authorization !== `Bearer ${auth}`) {
        res.writeHead(401).end();
        return;
      }
      if (hits <= failFirst) {
        res.writeHead(failStatus, retryAfter === undefined ? {} : { 'retry-after': retryAfter }).end();
        return;
      }
      const body = Buffer.concat(chunks);
      received.push(...decodeOtlpProtobuf(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).spans);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, received, hits: () => hits };
}

describe('span shipper', () => {
  it('ships batches as OTLP with weft.* keys intact, retrying 503s', async () => {
    const r = await receiver(2, 'tok');
    const shipper = createSpanShipper({ serverUrl: r.url, token: 'tok', batchSpans: 10, flushIntervalMs: 20, maxQueueSpans: 1000, timeoutMs: 2000 });
    shipper.add(Array.from({ length: 25 }, (_, i) => sysSpan(i)));
    await shipper.flush();
    expect(r.received).toHaveLength(25);
    expect(r.received.map((s) => s.reqTcpSeq).sort((a, b) => a - b)[0]).toBe(1000);
    expect(r.received[0]).toMatchObject({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' });
    expect(shipper.stats()).toMatchObject({ sent: 25, dropped: 0, failedAttempts: 2 });
    await shipper.close();
  });

  it('waits as long as the server\'s 429 Retry-After says, through the exporter\'s transport', async () => {
    const r = await receiver(2, undefined, 429, '3');
    const waits: number[] = [];
    const shipper = createSpanShipper({ serverUrl: r.url, batchSpans: 10, flushIntervalMs: 20, maxQueueSpans: 1000, timeoutMs: 2000, sleep: async (ms) => void waits.push(ms) });
    shipper.add(Array.from({ length: 5 }, (_, i) => sysSpan(i)));
    await shipper.flush();
    expect(waits).toEqual([3000, 3000]);
    expect(r.received).toHaveLength(5);
    expect(shipper.stats()).toMatchObject({ sent: 5, failedAttempts: 2, retryAfterWaits: 2 });
    await shipper.close();
  });

  it('drops the oldest spans when the queue is full, and counts them', async () => {
    const shipper = createSpanShipper({ serverUrl: 'http://127.0.0.1:9', batchSpans: 1000, flushIntervalMs: 60_000, maxQueueSpans: 10, timeoutMs: 100 });
    shipper.add(Array.from({ length: 25 }, (_, i) => sysSpan(i)));
    expect(shipper.stats()).toMatchObject({ queued: 10, dropped: 15 });
    await shipper.close();
    expect(shipper.stats().dropped).toBe(25);
  });
});
