/** @module The DNS parser (UDP and TCP), as the registry lists it. */
import type { ProtocolParser } from '../protocol.js';
import { detectDns, newDnsState, parseDns, type DnsFrame, type DnsState } from './parse.js';
import { stitchDns, type DnsRecord } from './stitch.js';
import { dnsToSpan } from './to-span.js';

export const dnsParser: ProtocolParser<DnsFrame, DnsState, DnsRecord> = {
  name: 'dns',
  defaultPorts: [53, 5353],
  newState: newDnsState,
  detect: detectDns,
  parse: parseDns,
  stitch: (reqs, resps) => stitchDns(reqs, resps),
  toSpan: dnsToSpan,
  unanswered: (request) => ({ request, response: null }),
};
