/**
 * @module DNS message framing (RFC 1035 §4.1): header, first question, and rcode. Over UDP one
 * datagram is one message; over TCP each message has a 2-byte length prefix (RFC 1035 §4.2.2).
 */
import type { Transport } from '../../../model/index.js';
import type { ParseDirection, ParseResult } from '../protocol.js';

export interface DnsFrame {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  /** First question's name, dotted, without the trailing dot; '' when there is none. */
  qname: string;
  qtype: number;
  answerCount: number;
}

export interface DnsState {
  tcp: boolean;
}

export function newDnsState(transport: Transport): DnsState {
  return { tcp: transport === 'tcp' };
}

/** RFC 1035 §4.1.1: the fixed header. */
const HEADER_BYTES = 12;
/** RFC 1035 §2.3.4: names are at most 255 octets. */
const MAX_NAME_BYTES = 255;
/** Compression pointers followed before we call a name a loop. */
const MAX_POINTERS = 16;
/** RFC 1035 §4.2.2 length prefix over TCP. */
const TCP_PREFIX_BYTES = 2;

function readName(b: Uint8Array, start: number, base: number): { name: string; next: number } | null {
  let pos = start;
  let next = -1;
  let jumps = 0;
  let len = 0;
  const labels: string[] = [];
  for (;;) {
    const l = b[pos];
    if (l === undefined) return null;
    if (l === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if ((l & 0xc0) === 0xc0) {
      const lo = b[pos + 1];
      if (lo === undefined || ++jumps > MAX_POINTERS) return null;
      if (next < 0) next = pos + 2;
      pos = base + (((l & 0x3f) << 8) | lo);
      continue;
    }
    if ((l & 0xc0) !== 0) return null; // extended label types (RFC 6891 §5) are not names we read
    if (pos + 1 + l > b.length) return null;
    len += l + 1;
    if (len > MAX_NAME_BYTES) return null;
    let s = '';
    for (let i = pos + 1; i <= pos + l; i++) s += String.fromCharCode(b[i]!);
    labels.push(s);
    pos += l + 1;
  }
  return { name: labels.join('.'), next };
}

function parseMessage(b: Uint8Array, base: number, end: number): DnsFrame | string {
  if (end - base < HEADER_BYTES) return 'short header';
  const id = (b[base]! << 8) | b[base + 1]!;
  const flags1 = b[base + 2]!;
  const flags2 = b[base + 3]!;
  const qd = (b[base + 4]! << 8) | b[base + 5]!;
  const an = (b[base + 6]! << 8) | b[base + 7]!;
  const opcode = (flags1 >> 3) & 0x0f;
  if (opcode > 6 || (flags2 & 0x40) !== 0) return 'bad flags'; // Z bit must be 0 (RFC 1035 §4.1.1)
  if (qd > 1 && opcode === 0) return 'more than one question'; // real resolvers send one (RFC 9619)
  const frame: DnsFrame = { id, isResponse: (flags1 & 0x80) !== 0, opcode, rcode: flags2 & 0x0f, qname: '', qtype: 0, answerCount: an };
  if (qd >= 1) {
    const msg = b.subarray(0, end);
    const n = readName(msg, base + HEADER_BYTES, base);
    if (!n) return 'bad question name';
    if (n.next + 4 > end) return 'short question';
    frame.qname = n.name;
    frame.qtype = (b[n.next]! << 8) | b[n.next + 1]!;
  }
  return frame;
}

export function parseDns(buf: Uint8Array, _direction: ParseDirection, state: DnsState): ParseResult<DnsFrame> {
  if (state.tcp) {
    if (buf.length < TCP_PREFIX_BYTES) return { kind: 'needMore' };
    const len = (buf[0]! << 8) | buf[1]!;
    if (len < HEADER_BYTES) return { kind: 'invalid', reason: 'length prefix below header size' };
    if (buf.length < TCP_PREFIX_BYTES + len) {
      // The header and question fit in the first bytes; answers beyond are not needed.
      return { kind: 'needMore' };
    }
    const f = parseMessage(buf, TCP_PREFIX_BYTES, TCP_PREFIX_BYTES + len);
    return typeof f === 'string' ? { kind: 'invalid', reason: f } : { kind: 'frame', frame: f, consumed: TCP_PREFIX_BYTES + len };
  }
  const f = parseMessage(buf, 0, buf.length);
  return typeof f === 'string' ? { kind: 'invalid', reason: f } : { kind: 'frame', frame: f, consumed: buf.length };
}

/**
 * 'yes' for a standard query shaped exactly as resolvers send them (RFC 1035 §4.1: one question,
 * no answer or authority records, at most the EDNS OPT record of RFC 6891 §6.1.2, and nothing
 * after it), so DNS is recognised on any port; 'maybe' for anything else that parses.
 */
export function detectDns(bytes: Uint8Array, direction: ParseDirection): 'yes' | 'no' | 'maybe' {
  let verdict: 'yes' | 'no' | 'maybe' = 'no';
  for (const tcp of [false, true]) {
    const r = parseDns(bytes, direction, { tcp });
    if (r.kind !== 'frame' || r.frame.isResponse !== (direction === 'response') || r.frame.qname === '' || r.frame.opcode !== 0) continue;
    if (direction === 'request' && r.consumed === bytes.length && isExactQuery(bytes, tcp ? TCP_PREFIX_BYTES : 0)) return 'yes';
    verdict = 'maybe';
  }
  return verdict;
}

function isExactQuery(b: Uint8Array, base: number): boolean {
  const an = (b[base + 6]! << 8) | b[base + 7]!;
  const ns = (b[base + 8]! << 8) | b[base + 9]!;
  const ar = (b[base + 10]! << 8) | b[base + 11]!;
  if (an !== 0 || ns !== 0 || ar > 1) return false;
  const n = readName(b, base + HEADER_BYTES, base);
  if (!n) return false;
  const questionEnd = n.next + 4;
  if (ar === 0) return questionEnd === b.length;
  // OPT pseudo-record: root name (0), TYPE 41, class, TTL, RDLENGTH, RDATA.
  if (b[questionEnd] !== 0 || b[questionEnd + 1] !== 0 || b[questionEnd + 2] !== 41) return false;
  const rdlen = ((b[questionEnd + 9] ?? 0) << 8) | (b[questionEnd + 10] ?? 0);
  return questionEnd + 11 + rdlen === b.length;
}
