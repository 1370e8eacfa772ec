/**
 * @module One load generator of the soak (bench/soak.ts): drives a real OTel SDK exporter
 * (OTLP/HTTP protobuf, OTLP/HTTP JSON or OTLP/gRPC, with the SDK's own transport, timeouts and
 * retries) with spans at a fixed rate, and records which spans the server acknowledged.
 *
 * The spans are plain ReadableSpans with deterministic ids (worker prefix + counter), built
 * without a tracer so the generator spends its CPU in the exporter, as an application's SDK
 * would, not in span bookkeeping. Like BatchSpanProcessor, it has a bounded number of exports in
 * flight: a batch that finds them all busy is dropped by the client and counted.
 *
 * Usage: node --import tsx bench/soak-load.ts KIND URL SPANS_PER_SEC SECONDS WORKER_HEX ACKED_FILE
 *   KIND: proto | json | grpc; mode "closed" (SPANS_PER_SEC=0): exports back to back.
 * Prints one JSON line with its counters when done.
 */
import { createWriteStream } from 'node:fs';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import type { HrTime } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Spans per export: BatchSpanProcessor's default 512; WEFT_LOAD_BATCH for larger bodies. */
const BATCH = Number(process.env['WEFT_LOAD_BATCH'] ?? 512);
/** Exports in flight at most (BatchSpanProcessor runs one; several processes' worth here). */
const MAX_IN_FLIGHT = 8;
/** The SDK's default export timeout. */
const EXPORT_TIMEOUT_MS = 10_000;

const [kind = 'proto', url = '', rateArg = '0', secondsArg = '60', worker = '01', ackedFile = '/dev/null'] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const service = `soak-${kind}-${worker}`;
const resource = resourceFromAttributes({ 'service.name': service });
const scope = { name: 'weft-soak', version: '1' };

function exporterOf(): SpanExporter {
  if (kind === 'grpc') return new GrpcExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS });
  if (kind === 'json') return new JsonExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS });
  return new ProtoExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS });
}

function hr(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

let counter = 0;
/** A batch: traces of 4 spans (a server span and three children), ids `worker + counter`. */
function batch(): { spans: ReadableSpan[]; ids: string[] } {
  const spans: ReadableSpan[] = [];
  const ids: string[] = [];
  const now = BigInt(Date.now()) * 1_000_000n;
  let rootId = '';
  let traceId = '';
  for (let i = 0; i < BATCH; i++) {
    const n = counter++;
    const spanId = `${worker}${n.toString(16).padStart(14, '0')}`;
    if (n % 4 === 0) {
      traceId = `${worker}${Math.floor(n / 4).toString(16).padStart(30, '0')}`;
      rootId = spanId;
    }
    const root = spanId === rootId;
    const start = now - 5_000_000n + BigInt(i) * 1000n;
    spans.push({
      name: root ? 'GET /soak' : `SELECT soak ${n % 16}`,
      kind: root ? SpanKind.SERVER : SpanKind.CLIENT,
      spanContext: () => ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED }),
      ...(root ? {} : { parentSpanContext: { traceId, spanId: rootId, traceFlags: TraceFlags.SAMPLED } }),
      startTime: hr(start),
      endTime: hr(start + 800_000n),
      duration: [0, 800_000],
      status: { code: SpanStatusCode.OK },
      attributes: root ? { 'http.request.method': 'GET', 'url.path': '/soak', 'http.response.status_code': 200 } : { 'db.system': 'mysql', 'db.query.text': `SELECT * FROM soak WHERE id = ${n % 16}` },
      links: [],
      events: [],
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    } as unknown as ReadableSpan);
    ids.push(spanId);
  }
  return { spans, ids };
}

async function main(): Promise<void> {
  const exporter = exporterOf();
  const acked = createWriteStream(ackedFile);
  const latencies: number[] = [];
  /** Times of the exports the server acknowledged (latencies holds every export, refused ones too). */
  const ackedLatencies: number[] = [];
  const c = { sentSpans: 0, ackedSpans: 0, failedSpans: 0, clientDroppedSpans: 0, exports: 0, failedExports: 0 };
  let inFlight = 0;
  const send = (): Promise<void> => {
    const b = batch();
    c.sentSpans += b.ids.length;
    inFlight++;
    const t = performance.now();
    return new Promise<void>((resolve) => {
      exporter.export(b.spans, (r) => {
        inFlight--;
        c.exports++;
        latencies.push(performance.now() - t);
        if (r.code === 0 /* ExportResultCode.SUCCESS */) {
          ackedLatencies.push(performance.now() - t);
          c.ackedSpans += b.ids.length;
          acked.write(`${b.ids.join('\n')}\n`);
        } else {
          c.failedExports++;
          c.failedSpans += b.ids.length;
        }
        resolve();
      });
    });
  };
  const until = Date.now() + seconds * 1000;
  if (rate <= 0) {
    // Closed loop: as fast as the server acknowledges, MAX_IN_FLIGHT at a time.
    await Promise.all(
      Array.from({ length: MAX_IN_FLIGHT }, async () => {
        while (Date.now() < until) await send();
      }),
    );
  } else {
    // Open loop: batches at the asked rate whatever the server does, as applications produce.
    const started = Date.now();
    let due = 0;
    const pending: Promise<void>[] = [];
    while (Date.now() < until) {
      const should = Math.floor(((Date.now() - started) / 1000) * (rate / BATCH));
      for (; due < should; due++) {
        if (inFlight >= MAX_IN_FLIGHT) {
          c.clientDroppedSpans += BATCH;
          counter += BATCH;
          continue;
        }
        pending.push(send());
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(pending);
  }
  await new Promise<void>((r) => acked.end(() => r()));
  await exporter.shutdown();
  latencies.sort((a, b) => a - b);
  ackedLatencies.sort((a, b) => a - b);
  const pct = (xs: number[], p: number): number => Math.round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0);
  process.stdout.write(
    `${JSON.stringify({ kind, service, ...c, ackP50Ms: pct(latencies, 0.5), ackP99Ms: pct(latencies, 0.99), ackMaxMs: pct(latencies, 1), ackedP50Ms: pct(ackedLatencies, 0.5), ackedP99Ms: pct(ackedLatencies, 0.99) })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
