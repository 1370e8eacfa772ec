/**
 * @module Micro-benchmark of the OTLP/protobuf hot path on SDK-serialized payloads: reflection
 * decode alone, conversion of a decoded message alone, the reference decode+convert, and
 * decodeOtlpProtobuf (the fast path), in one process so the ratios are comparable on a noisy host.
 *
 * Usage: node --import tsx src/apm/otlp/otlp-decode.perf.ts [SPANS_PER_REQUEST=500] [SECONDS_PER_CASE=2]
 * Profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx src/apm/otlp/otlp-decode.perf.ts
 */
import { convertOtlpRequest, decodeOtlpProtobuf, exportRequestType } from './index.js';
import { decodeOtlpProtobufReference } from './otlp-decode.js';

const spansPerRequest = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 2);
// The bench's SDK payload, imported by computed URL: tsconfig.build.json compiles src/ only, and a
// static import of bench/ would pull it out of rootDir.
const payloadModule = new URL('../../../bench/otlp-payload.ts', import.meta.url).href;
const { otlpProtobufPayload } = (await import(payloadModule)) as {
  otlpProtobufPayload: (spanCount: number) => { bytes: Uint8Array; spans: number };
};
const payload = otlpProtobufPayload(spansPerRequest);
const body = Buffer.from(payload.bytes);
const decoded = exportRequestType().decode(body);

function measure(name: string, fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    fn();
    n++;
  }
  const rate = (n * payload.spans) / ((performance.now() - t0) / 1000);
  process.stdout.write(`${name.padEnd(34)} ${Math.round(rate).toString().padStart(9)} spans/s\n`);
  return rate;
}

process.stdout.write(`payload: ${payload.spans} spans, ${body.byteLength} bytes\n`);
const only = process.env['WEFT_PERF_ONLY'];
const cases: [string, () => unknown][] = [
  ['reflection decode only', () => exportRequestType().decode(body)],
  ['convert of a decoded message', () => convertOtlpRequest(decoded)],
  ['reference decode+convert', () => decodeOtlpProtobufReference(body)],
  ['decodeOtlpProtobuf (fast path)', () => decodeOtlpProtobuf(body)],
];
const rates = new Map<string, number>();
for (const [name, fn] of cases) if (!only || name.includes(only)) rates.set(name, measure(name, fn));
const base = rates.get('reflection decode only');
const fast = rates.get('decodeOtlpProtobuf (fast path)');
const ref = rates.get('reference decode+convert');
if (base && fast && ref) {
  process.stdout.write(`fast/decode-only = ${(fast / base).toFixed(2)}; fast/reference = ${(fast / ref).toFixed(2)}\n`);
}
