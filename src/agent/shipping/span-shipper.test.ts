import { createServer, type Server } from 'node:http';
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

/** A real HTTP endpoint that decodes OTLP with Weft's decoder; `failFirst` answers 503 first. */
async function receiver(failFirst: number, auth?: string): Promise<{ url: string; received: SpanRecord[]; hits: () => number }> {
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
        res.writeHead(503).end();
        return;
      }
      received.push(...decodeOtlpProtobuf(Buffer.concat(chunks)).spans);
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

  it('drops the oldest spans when the queue is full, and counts them', async () => {
    const shipper = createSpanShipper({ serverUrl: 'http://127.0.0.1:9', batchSpans: 1000, flushIntervalMs: 60_000, maxQueueSpans: 10, timeoutMs: 100 });
    shipper.add(Array.from({ length: 25 }, (_, i) => sysSpan(i)));
    expect(shipper.stats()).toMatchObject({ queued: 10, dropped: 15 });
    await shipper.close();
    expect(shipper.stats().dropped).toBe(25);
  });
});
