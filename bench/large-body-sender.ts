/**
 * @module Posts one large OTLP/HTTP body, serialized by the OTel SDK (as a collector forwards a
 * big batch), back to back until its time is up, in a process of its own so the sending costs
 * the caller nothing; a refusal is waited out for a fraction of its Retry-After, to keep the
 * pressure on. Prints one JSON line: the body's size and the answers by status.
 *
 * Usage: node --import tsx bench/large-body-sender.ts URL proto|json SPANS SECONDS
 */
import { otlpJsonPayload, otlpProtobufPayload } from './otlp-payload.js';

const [url = '', kind = 'proto', spansArg = '32768', secondsArg = '20'] = process.argv.slice(2);
const body = kind === 'json' ? otlpJsonPayload(Number(spansArg)).bytes : otlpProtobufPayload(Number(spansArg)).bytes;
const type = kind === 'json' ? 'application/json' : 'application/x-protobuf';
const until = Date.now() + Number(secondsArg) * 1000;
const statuses: Record<string, number> = {};
while (Date.now() < until) {
  let status = 'error';
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body: body as BodyInit, signal: AbortSignal.timeout(60_000) });
    await res.arrayBuffer();
    status = String(res.status);
  } catch {
    // Counted as 'error' (a cut connection or a timeout).
  }
  statuses[status] = (statuses[status] ?? 0) + 1;
  if (status !== '200') await new Promise((r) => setTimeout(r, 200));
}
process.stdout.write(`${JSON.stringify({ kind, bytes: body.length, statuses })}\n`);
