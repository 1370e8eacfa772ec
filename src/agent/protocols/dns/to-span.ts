/** @module DNS record → SpanRecord: query type, name, transaction id and rcode. */
import type { SpanRecord } from '../../../model/index.js';
import { finishStatus, spanBase, spanName } from '../../spans/span-base.js';
import type { ConnInfo } from '../protocol.js';
import type { DnsRecord } from './stitch.js';

/** RFC 1035 §3.2.2, RFC 3596 (AAAA), RFC 2782 (SRV), RFC 6891 (OPT), RFC 9460 (SVCB/HTTPS). */
const QTYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV',
  35: 'NAPTR', 41: 'OPT', 43: 'DS', 46: 'RRSIG', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};

/** RFC 1035 §4.1.1 and RFC 6895 §2.3 rcode names. */
const RCODES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

export function dnsQtypeName(qtype: number): string {
  return QTYPES[qtype] ?? `TYPE${qtype}`;
}

export function dnsToSpan(rec: DnsRecord, conn: ConnInfo): SpanRecord {
  const span = spanBase(conn, rec.request?.meta ?? null, rec.response?.meta ?? null);
  span.protocol = 'dns';
  const q = rec.request?.frame ?? rec.response?.frame;
  if (q) {
    span.requestType = dnsQtypeName(q.qtype);
    span.requestDomain = q.qname;
    span.requestResource = q.qname;
    span.requestId = q.id;
  }
  const resp = rec.response?.frame;
  if (resp) {
    span.responseCode = resp.rcode;
    // DeepFlow: a name error or malformed query is the client's; the rest are the server's.
    if (resp.rcode === 0) span.responseStatus = 'ok';
    else if (resp.rcode === 1 || resp.rcode === 3) span.responseStatus = 'client_error';
    else span.responseStatus = 'server_error';
    if (resp.rcode !== 0) span.responseException = RCODES[resp.rcode] ?? `RCODE${resp.rcode}`;
    span.attributes['dns.answer_count'] = resp.answerCount;
  }
  span.name = spanName(span);
  finishStatus(span);
  return span;
}
