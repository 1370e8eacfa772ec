/**
 * @module The agent's span shipper against a real Weft server: it sends through the exporter's
 * OTLP/HTTP transport (gzip protobuf), and the spans are stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSpanShipper } from '../../src/agent/shipping/span-shipper.js';
import { emptySpan } from '../../src/model/index.js';
import { startTestWeft, type TestWeft } from './weft-harness.js';

describe('agent span shipper → Weft', () => {
  let weft: TestWeft;
  beforeAll(async () => {
    weft = await startTestWeft();
  });
  afterAll(async () => weft?.close());

  it('ships gzip OTLP/protobuf the receiver stores', async () => {
    const shipper = createSpanShipper({ serverUrl: weft.urls.otlpHttp, batchSpans: 10, flushIntervalMs: 20, maxQueueSpans: 1000, timeoutMs: 5000 });
    shipper.add(
      Array.from({ length: 12 }, (_, i) => {
        const s = emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 'c-p' });
        s.spanId = (i + 1).toString(16).padStart(16, '0');
        s.name = `GET /${i}`;
        s.startTimeUnixNano = 1_700_000_000_000_000_000n + BigInt(i);
        s.endTimeUnixNano = s.startTimeUnixNano + 1000n;
        s.reqTcpSeq = 7000 + i;
        return s;
      }),
    );
    await shipper.flush();
    expect(shipper.stats()).toMatchObject({ sent: 12, rejectedByServer: 0 });
    await shipper.close();
    const stored = await weft.server.store.findSpans({ source: 'sys', limit: 100 });
    expect(stored.map((s) => s.reqTcpSeq).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => 7000 + i));
  });
});
