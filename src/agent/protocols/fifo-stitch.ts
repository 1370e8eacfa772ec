/**
 * @module In-order pairing for protocols whose responses come back in request order on a
 * connection (HTTP/1.1 pipelining, Redis, MySQL, PostgreSQL).
 */
import type { Exchange, Framed, StitchResult } from './protocol.js';

/**
 * Pairs the front request with the front response while both exist. A response that starts
 * before the front request was sent cannot answer it (we joined mid-stream, or lost a request):
 * it is dropped and counted. Unanswered requests stay in `requests`.
 */
export function fifoStitch<F>(requests: Framed<F>[], responses: Framed<F>[]): StitchResult<Exchange<F, F>> {
  const records: Exchange<F, F>[] = [];
  let errors = 0;
  let ri = 0;
  let si = 0;
  while (si < responses.length) {
    const resp = responses[si]!;
    const req = requests[ri];
    if (!req) {
      // Nothing to pair with: an unsolicited response (we joined mid-stream). Drop it.
      errors++;
      si++;
      continue;
    }
    if (resp.meta.startUnixNano !== 0n && resp.meta.startUnixNano < req.meta.startUnixNano) {
      errors++;
      si++;
      continue;
    }
    records.push({ request: req, response: resp });
    ri++;
    si++;
  }
  requests.splice(0, ri);
  responses.splice(0, si);
  return { records, errors };
}
