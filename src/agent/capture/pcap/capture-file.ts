/**
 * @module Packet capture files → packets: classic pcap (pcap-savefile(5): either byte order,
 * micro- or nanosecond stamps) and pcapng (the IETF draft: section header, interface
 * description with if_name and if_tsresol, enhanced and simple packet blocks). Other pcapng
 * blocks are skipped by their length. Anything that does not hold together is a
 * TRC_PCAP_MALFORMED error naming the offset; a file cut short in its last packet (a capture
 * stopped mid-write) ends the packets there, as tcpdump itself does.
 */
import { TracingError } from '../../../model/index.js';

export interface CapturedPacket {
  /** Capture time, ns since the Unix epoch. */
  unixNano: bigint;
  /** LINKTYPE_* of the interface the packet came from. */
  linkType: number;
  /** The captured bytes (may be shorter than the packet on the wire). */
  data: Buffer;
  /** pcapng if_name, else '' (classic pcap does not record it). */
  interfaceName: string;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
/** "Modified" pcap (Alexey Kuznetsov's patches): µs stamps, 8 more bytes per record header. */
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
const PCAP_MAGICS = [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_MODIFIED];
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_SPB = 0x00000003;
const PCAPNG_EPB = 0x00000006;
/** No real packet is larger; a bigger length means a corrupt file, not a big packet. */
const MAX_PACKET = 256 * 1024;

function malformed(what: string, offset: number): TracingError {
  return new TracingError('TRC_PCAP_MALFORMED', `capture file: ${what} at byte ${offset}`, { httpStatus: 400 });
}

/** Why the packets stopped before the end of the file. */
export interface CaptureProblem {
  kind: 'malformed' | 'truncated';
  /** Byte offset of the record that did not hold together. */
  offset: number;
  message: string;
}

/** Receives the one problem that ended the packets early (never called for a clean file). */
export type CaptureProblemSink = (problem: CaptureProblem) => void;

function problem(kind: CaptureProblem['kind'], what: string, offset: number): CaptureProblem {
  return { kind, offset, message: `capture file: ${what} at byte ${offset}` };
}

/** Which format the bytes start with, or null. */
export function captureFormat(file: Buffer): 'pcap' | 'pcapng' | null {
  if (file.length < 4) return null;
  const le = file.readUInt32LE(0);
  const be = file.readUInt32BE(0);
  if (le === PCAPNG_SHB) return 'pcapng';
  if (PCAP_MAGICS.includes(le) || PCAP_MAGICS.includes(be)) return 'pcap';
  return null;
}

/**
 * Every packet of a pcap or pcapng file, in file order. Throws TRC_PCAP_MALFORMED when the file
 * header is not a capture's; a later problem ends the packets and goes to `onProblem` (default:
 * thrown as TRC_PCAP_MALFORMED, for callers that want all or nothing).
 */
export function* readCapturedPackets(file: Buffer, onProblem?: CaptureProblemSink): Generator<CapturedPacket> {
  const format = captureFormat(file);
  const report =
    onProblem ??
    ((p: CaptureProblem) => {
      throw new TracingError('TRC_PCAP_MALFORMED', p.message, { httpStatus: 400 });
    });
  if (format === 'pcap') yield* readPcap(file, report);
  else if (format === 'pcapng') yield* readPcapng(file, report);
  else throw malformed('neither a pcap nor a pcapng header (bad magic number)', 0);
}

function* readPcap(file: Buffer, report: CaptureProblemSink): Generator<CapturedPacket> {
  if (file.length < 24) throw malformed('pcap file header cut short', 0);
  const magicLE = file.readUInt32LE(0);
  const le = PCAP_MAGICS.includes(magicLE);
  const magic = le ? magicLE : file.readUInt32BE(0);
  const nanoPerFrac = magic === PCAP_MAGIC_NS ? 1n : 1000n;
  // Modified pcap adds ifindex (4), protocol (2), pkt_type (1) and a pad byte to each record.
  const recordHeader = magic === PCAP_MAGIC_MODIFIED ? 24 : 16;
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  // The link type is the low 16 bits; the upper bits may carry FCS information.
  const linkType = u32(20) & 0xffff;
  let off = 24;
  while (off + recordHeader <= file.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const caplen = u32(off + 8);
    const wirelen = u32(off + 12);
    // A real record never captures more than went over the wire, nor more than any link carries;
    // either means the bytes here are not a record (corruption, or garbage appended to the file).
    if (caplen > MAX_PACKET || caplen > wirelen || (magic !== PCAP_MAGIC_NS && frac >= 1_000_000) || frac >= 1_000_000_000) {
      report(problem('malformed', `record header does not hold together (captured ${caplen} of ${wirelen} bytes, fraction ${frac})`, off));
      return;
    }
    if (off + recordHeader + caplen > file.length) {
      report(problem('truncated', `the file ends inside a packet (${file.length - off - recordHeader} of its ${caplen} bytes present; was the capture cut short?)`, off));
      return;
    }
    yield { unixNano: BigInt(sec) * 1_000_000_000n + BigInt(frac) * nanoPerFrac, linkType, data: file.subarray(off + recordHeader, off + recordHeader + caplen), interfaceName: '' };
    off += recordHeader + caplen;
  }
  if (off < file.length) report(problem('truncated', `the file ends inside a record header (${file.length - off} of ${recordHeader} bytes; was the capture cut short?)`, off));
}

interface NgInterface {
  linkType: number;
  name: string;
  /** ns per timestamp unit, or 0 when the resolution is finer than 1 ns (then divide). */
  nsPerUnit: bigint;
  unitsPerNs: bigint;
}

function* readPcapng(file: Buffer, report: CaptureProblemSink): Generator<CapturedPacket> {
  let off = 0;
  let le = true;
  let interfaces: NgInterface[] = [];
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const u16 = (o: number): number => (le ? file.readUInt16LE(o) : file.readUInt16BE(o));
  while (off + 12 <= file.length) {
    const typeLE = file.readUInt32LE(off);
    if (typeLE === PCAPNG_SHB) {
      // A section header sets the byte order of everything up to the next one.
      const bom = file.readUInt32LE(off + 8);
      if (bom === PCAPNG_BYTE_ORDER) le = true;
      else if (file.readUInt32BE(off + 8) === PCAPNG_BYTE_ORDER) le = false;
      else {
        report(problem('malformed', 'pcapng section header with an unknown byte-order magic', off + 8));
        return;
      }
      interfaces = [];
    }
    const type = u32(off);
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0) {
      report(problem('malformed', `pcapng block length ${len}`, off + 4));
      return;
    }
    if (off + len > file.length) {
      report(problem('truncated', `the file ends inside a pcapng block (${file.length - off} of its ${len} bytes present; was the capture cut short?)`, off));
      return;
    }
    const body = off + 8;
    const end = off + len - 4;
    if (type === PCAPNG_IDB) {
      if (end - body < 8) {
        report(problem('malformed', 'pcapng interface description cut short', body));
        return;
      }
      const iface: NgInterface = { linkType: u16(body), name: '', nsPerUnit: 1000n, unitsPerNs: 1n };
      for (const [code, at, olen] of options(file, body + 8, end, u16)) {
        if (code === 2) iface.name = file.toString('utf8', at, at + olen);
        else if (code === 9 && olen >= 1) {
          const r = file[at] as number;
          // High bit clear: 10^-r s; set: 2^-(r & 0x7f) s.
          const unitsPerSec = (r & 0x80) === 0 ? 10n ** BigInt(r) : 2n ** BigInt(r & 0x7f);
          if (unitsPerSec <= 1_000_000_000n) {
            iface.nsPerUnit = 1_000_000_000n / unitsPerSec;
            iface.unitsPerNs = 1n;
          } else {
            iface.nsPerUnit = 0n;
            iface.unitsPerNs = unitsPerSec / 1_000_000_000n;
          }
        }
      }
      interfaces.push(iface);
    } else if (type === PCAPNG_EPB) {
      if (end - body < 20) {
        report(problem('malformed', 'pcapng packet block cut short', body));
        return;
      }
      const iface = interfaces[u32(body)];
      if (!iface) {
        report(problem('malformed', `pcapng packet on undeclared interface ${u32(body)}`, body));
        return;
      }
      const ts = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
      const caplen = u32(body + 12);
      if (caplen > end - (body + 20)) {
        report(problem('malformed', `pcapng packet length ${caplen} overruns its block`, body + 12));
        return;
      }
      const unixNano = iface.nsPerUnit > 0n ? ts * iface.nsPerUnit : ts / iface.unitsPerNs;
      yield { unixNano, linkType: iface.linkType, data: file.subarray(body + 20, body + 20 + caplen), interfaceName: iface.name };
    } else if (type === PCAPNG_SPB) {
      const iface = interfaces[0];
      if (!iface) {
        report(problem('malformed', 'pcapng simple packet before any interface', body));
        return;
      }
      const caplen = Math.min(u32(body), end - (body + 4));
      // A simple packet block has no timestamp.
      yield { unixNano: 0n, linkType: iface.linkType, data: file.subarray(body + 4, body + 4 + caplen), interfaceName: iface.name };
    }
    off += len;
  }
  if (off < file.length) report(problem('truncated', `the file ends inside a pcapng block header (${file.length - off} bytes; was the capture cut short?)`, off));
}

/** pcapng options in [from, to): (code, value offset, value length) until opt_endofopt. */
function* options(file: Buffer, from: number, to: number, u16: (o: number) => number): Generator<[number, number, number]> {
  let at = from;
  while (at + 4 <= to) {
    const code = u16(at);
    const len = u16(at + 2);
    if (code === 0) return;
    if (at + 4 + len > to) return;
    yield [code, at + 4, len];
    at += 4 + ((len + 3) & ~3);
  }
}
