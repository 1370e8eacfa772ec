/**
 * @module Memcached pairing. Text answers come in command order (silent commands never became
 * frames). Binary answers echo the request's opaque: a quiet request passed over by a later
 * answer got no answer of its own, which for a quiet command means it succeeded (or missed).
 */
import type { Exchange, Framed, StitchResult } from '../protocol.js';
import type { McFrame, McRequestFrame, McResponseFrame } from './parse.js';

export type McRecord = Exchange<McRequestFrame, McResponseFrame> & {
  /** A quiet binary request that a later answer passed over: done, without an answer. */
  quietDone?: boolean;
};

export function stitchMemcached(requests: Framed<McFrame>[], responses: Framed<McFrame>[]): StitchResult<McRecord> {
  const records: McRecord[] = [];
  let errors = 0;
  let si = 0;
  for (; si < responses.length; si++) {
    const resp = responses[si] as Framed<McResponseFrame>;
    const idx = resp.frame.binary ? requests.findIndex((r) => (r.frame as McRequestFrame).opaque === resp.frame.opaque) : requests.length > 0 ? 0 : -1;
    if (idx < 0) {
      errors++;
      continue;
    }
    const before = requests.splice(0, idx + 1) as Framed<McRequestFrame>[];
    const matched = before.pop()!;
    for (const r of before) records.push(r.frame.quiet ? { request: r, response: null, quietDone: true } : { request: r, response: null });
    records.push({ request: matched, response: resp });
  }
  responses.splice(0, si);
  return { records, errors };
}
