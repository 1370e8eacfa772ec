/**
 * @module Micro-benchmark of the OTLP/protobuf hot path on SDK-serialized payloads: reflection
 * decode alone, conversion of a decoded message alone, the reference decode+convert, and
 * decodeOtlpProtobuf (the fast path), in one process so the ratios are comparable on a noisy host.
 *
 * Usage: node --import tsx src/apm/otlp/otlp-decode.perf.ts [SPANS_PER_REQUEST=500] [SECONDS_PER_CASE=3]
 * Profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx src/apm/otlp/otlp-decode.perf.ts
 */
import { convertOtlpRequest, decodeOtlpProtobuf, exportRequestType } from './index.js';
import { decodeOtlpProtobufReference } from './otlp-decode.js';

const spansPerRequest = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 3);
// The bench's SDK payload, imported by computed URL: tsconfig.build.json compiles src/ only, and a
// static import of bench/ would pull it out of rootDir.
const payloadModule = new URL('../../../bench/otlp-payload.ts', import.meta.url).href;
const { otlpProtobufPayload } = (await import(payloadModule)) as {
  otlpProtobufPayload: (spanCount: number) => { bytes: Uint8Array; spans: number };
};
const payload = otlpProtobufPayload(spansPerRequest);
const body = Buffer.from(payload.bytes);
const decoded = exportRequestType().decode(body);

/** Spans/s of `fn` over `ms` milliseconds. */
function rate(fn: () => unknown, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  const until = t0 + ms;
  while (performance.now() < until) {
    fn();
    n++;
  }
  return (n * payload.spans) / ((performance.now() - t0) / 1000);
}

process.stdout.write(`payload: ${payload.spans} spans, ${body.byteLength} bytes\n`);
const only = process.env['WEFT_PERF_ONLY'];
const cases: [string, () => unknown][] = [
  ['reflection decode only', () => exportRequestType().decode(body)],
  ['convert of a decoded message', () => convertOtlpRequest(decoded)],
  ['reference decode+convert', () => decodeOtlpProtobufReference(body)],
  ['decodeOtlpProtobuf (fast path)', () => decodeOtlpProtobuf(body)],
];
const chosen = cases.filter(([name]) => !only || name.includes(only));
for (const [, fn] of chosen) for (let i = 0; i < 30; i++) fn();
// The host is shared and noisy: run the cases interleaved in short rounds and take each one's
// median, so a burst of someone else's load hits every case alike.
const ROUNDS = 9;
const samples = new Map<string, number[]>(chosen.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of chosen) samples.get(name)?.push(rate(fn, (seconds * 1000) / ROUNDS));
}
const rates = new Map<string, number>();
for (const [name, list] of samples) {
  list.sort((a, b) => a - b);
  const median = list[Math.floor(list.length / 2)] ?? 0;
  rates.set(name, median);
  process.stdout.write(`${name.padEnd(34)} ${Math.round(median).toString().padStart(9)} spans/s (median of ${ROUNDS})\n`);
}
const base = rates.get('reflection decode only');
const fast = rates.get('decodeOtlpProtobuf (fast path)');
const ref = rates.get('reference decode+convert');
if (base && fast && ref) {
  process.stdout.write(`fast/decode-only = ${(fast / base).toFixed(2)}; fast/reference = ${(fast / ref).toFixed(2)}\n`);
}
