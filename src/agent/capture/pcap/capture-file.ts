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

/** Which format the bytes start with, or null. */
export function captureFormat(file: Buffer): 'pcap' | 'pcapng' | null {
  if (file.length < 4) return null;
  const le = file.readUInt32LE(0);
  const be = file.readUInt32BE(0);
  if (le === PCAPNG_SHB) return 'pcapng';
  if ([PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(le) || [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(be)) return 'pcap';
  return null;
}

/** Every packet of a pcap or pcapng file, in file order. */
export function* readCapturedPackets(file: Buffer): Generator<CapturedPacket> {
  const format = captureFormat(file);
  if (format === 'pcap') yield* readPcap(file);
  else if (format === 'pcapng') yield* readPcapng(file);
  else throw malformed('neither a pcap nor a pcapng header (bad magic number)', 0);
}

function* readPcap(file: Buffer): Generator<CapturedPacket> {
  if (file.length < 24) throw malformed('pcap file header cut short', 0);
  const magicLE = file.readUInt32LE(0);
  const le = magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS;
  const magic = le ? magicLE : file.readUInt32BE(0);
  const nanoPerFrac = magic === PCAP_MAGIC_NS ? 1n : 1000n;
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  // The link type is the low 16 bits; the upper bits may carry FCS information.
  const linkType = u32(20) & 0xffff;
  let off = 24;
  while (off + 16 <= file.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const caplen = u32(off + 8);
    if (caplen > MAX_PACKET) throw malformed(`packet length ${caplen} is not credible`, off + 8);
    if (off + 16 + caplen > file.length) return; // the last packet was cut short
    yield { unixNano: BigInt(sec) * 1_000_000_000n + BigInt(frac) * nanoPerFrac, linkType, data: file.subarray(off + 16, off + 16 + caplen), interfaceName: '' };
    off += 16 + caplen;
  }
}

interface NgInterface {
  linkType: number;
  name: string;
  /** ns per timestamp unit, or 0 when the resolution is finer than 1 ns (then divide). */
  nsPerUnit: bigint;
  unitsPerNs: bigint;
}

function* readPcapng(file: Buffer): Generator<CapturedPacket> {
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
      else throw malformed('pcapng section header with an unknown byte-order magic', off + 8);
      interfaces = [];
    }
    const type = u32(off);
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0) throw malformed(`pcapng block length ${len}`, off + 4);
    if (off + len > file.length) return; // the last block was cut short
    const body = off + 8;
    const end = off + len - 4;
    if (type === PCAPNG_IDB) {
      if (end - body < 8) throw malformed('pcapng interface description cut short', body);
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
      if (end - body < 20) throw malformed('pcapng packet block cut short', body);
      const iface = interfaces[u32(body)];
      if (!iface) throw malformed(`pcapng packet on undeclared interface ${u32(body)}`, body);
      const ts = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
      const caplen = u32(body + 12);
      if (caplen > end - (body + 20)) throw malformed(`pcapng packet length ${caplen} overruns its block`, body + 12);
      const unixNano = iface.nsPerUnit > 0n ? ts * iface.nsPerUnit : ts / iface.unitsPerNs;
      yield { unixNano, linkType: iface.linkType, data: file.subarray(body + 20, body + 20 + caplen), interfaceName: iface.name };
    } else if (type === PCAPNG_SPB) {
      const iface = interfaces[0];
      if (!iface) throw malformed('pcapng simple packet before any interface', body);
      const caplen = Math.min(u32(body), end - (body + 4));
      // A simple packet block has no timestamp.
      yield { unixNano: 0n, linkType: iface.linkType, data: file.subarray(body + 4, body + 4 + caplen), interfaceName: iface.name };
    }
    off += len;
  }
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
