/** @module DNS pairing by transaction id (RFC 1035 §4.1.1): answers may come back in any order. */
import type { Exchange, Framed, StitchResult } from '../protocol.js';
import type { DnsFrame } from './parse.js';

export type DnsRecord = Exchange<DnsFrame, DnsFrame>;

export function stitchDns(requests: Framed<DnsFrame>[], responses: Framed<DnsFrame>[]): StitchResult<DnsRecord> {
  const records: DnsRecord[] = [];
  let errors = 0;
  for (const resp of responses) {
    const i = requests.findIndex((r) => r.frame.id === resp.frame.id);
    if (i < 0) {
      errors++;
      continue;
    }
    const [req] = requests.splice(i, 1);
    records.push({ request: req!, response: resp });
  }
  responses.length = 0;
  // Keep request order in the output (the session layer relies on it for timing).
  records.sort((a, b) => (a.request!.meta.startUnixNano < b.request!.meta.startUnixNano ? -1 : a.request!.meta.startUnixNano > b.request!.meta.startUnixNano ? 1 : 0));
  return { records, errors };
}
