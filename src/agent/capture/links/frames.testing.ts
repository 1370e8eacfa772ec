/**
 * @module Builds Ethernet/IPv4/TCP frames (and VXLAN or GRE around them) for the NET path tests,
 * with the fields the decoders read set and the rest zero.
 */

export interface TcpFrame {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  flags?: { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean; psh?: boolean };
  window?: number;
  payload?: Buffer;
}

const ipv4 = (ip: string): number[] => ip.split('.').map(Number);

/** An IPv4 packet: header (protocol `proto`) + `l4`. */
export function ipv4Packet(src: string, dst: string, proto: number, l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(ipv4(src)).copy(h, 12);
  Buffer.from(ipv4(dst)).copy(h, 16);
  return Buffer.concat([h, l4]);
}

export function tcpSegment(f: TcpFrame): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(f.sport, 0);
  t.writeUInt16BE(f.dport, 2);
  t.writeUInt32BE(f.seq >>> 0, 4);
  t[12] = 5 << 4;
  const fl = f.flags ?? { ack: true, psh: true };
  t[13] = (fl.fin ? 1 : 0) | (fl.syn ? 2 : 0) | (fl.rst ? 4 : 0) | (fl.psh ? 8 : 0) | (fl.ack ? 16 : 0);
  t.writeUInt16BE(f.window ?? 502, 14);
  return Buffer.concat([t, f.payload ?? Buffer.alloc(0)]);
}

export function ethernet(type: number, body: Buffer): Buffer {
  const e = Buffer.alloc(14);
  e.writeUInt16BE(type, 12);
  return Buffer.concat([e, body]);
}

/** Ethernet + IPv4 + TCP. */
export function tcpFrame(f: TcpFrame): Buffer {
  return ethernet(0x0800, ipv4Packet(f.src, f.dst, 6, tcpSegment(f)));
}

/** `inner` (an Ethernet frame) in VXLAN (VNI 42) in UDP to 4789 between two underlay addresses. */
export function vxlanFrame(outerSrc: string, outerDst: string, inner: Buffer): Buffer {
  const vx = Buffer.alloc(8);
  vx[0] = 0x08;
  vx.writeUIntBE(42, 4, 3);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(4789, 2);
  udp.writeUInt16BE(8 + 8 + inner.length, 4);
  return ethernet(0x0800, ipv4Packet(outerSrc, outerDst, 17, Buffer.concat([udp, vx, inner])));
}

/** `inner` (an IP packet) in GRE with a key, in IPv4. */
export function greFrame(outerSrc: string, outerDst: string, innerIp: Buffer): Buffer {
  const gre = Buffer.alloc(8);
  gre[0] = 0x20; // K
  gre.writeUInt16BE(0x0800, 2);
  gre.writeUInt32BE(7, 4);
  return ethernet(0x0800, ipv4Packet(outerSrc, outerDst, 47, Buffer.concat([gre, innerIp])));
}
