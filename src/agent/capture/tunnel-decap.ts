/**
 * @module Tunnel decapsulation for NET capture: a frame on a node's uplink that carries VXLAN,
 * Geneve or GRE is read as the inner frame it carries, so the hop shows the workloads' flow (and
 * its tcp seq) rather than the tunnel's UDP or GRE packets between the nodes.
 *
 * Only the outer headers are read here; the inner frame goes to the ordinary decoder. Every
 * offset is checked against the captured length: a hostile or cut frame gives null.
 */

export type TunnelType = 'vxlan' | 'geneve' | 'gre';

export interface Decapsulated {
  tunnel: TunnelType;
  /** The inner frame: Ethernet for VXLAN, Geneve and GRE with transparent Ethernet bridging; raw IP for GRE over IP. */
  linkType: 1 | 101;
  inner: Buffer;
}

/** IANA: VXLAN (RFC 7348 §5), and the port Linux's vxlan driver used before IANA's. */
const VXLAN_PORTS = new Set([4789, 8472]);
/** IANA: Geneve (RFC 8926 §3.3). */
const GENEVE_PORT = 6081;
const IPPROTO_UDP = 17;
const IPPROTO_GRE = 47;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
/** Transparent Ethernet bridging: the payload is an Ethernet frame (gretap, Geneve). */
const ETH_TEB = 0x6558;
const ETH_VLAN = [0x8100, 0x88a8];
/** RFC 7348 §5: the I flag says the VNI is valid. */
const VXLAN_FLAG_I = 0x08;
const VXLAN_HEADER = 8;
const UDP_HEADER = 8;
/** RFC 2784/2890 GRE flags: checksum, key and sequence number present. */
const GRE_C = 0x80;
const GRE_K = 0x20;
const GRE_S = 0x10;

/** Where the outer IP header's payload starts, its protocol, or null (not IP, fragment, cut). */
function outerIp(frame: Buffer): { proto: number; l4: number; end: number } | null {
  let at = 12;
  if (frame.length < at + 2) return null;
  let type = frame.readUInt16BE(at);
  while (ETH_VLAN.includes(type)) {
    at += 4;
    if (frame.length < at + 2) return null;
    type = frame.readUInt16BE(at);
  }
  at += 2;
  if (type === ETH_IPV4) {
    if (frame.length < at + 20 || (frame[at] as number) >> 4 !== 4) return null;
    const ihl = ((frame[at] as number) & 0x0f) * 4;
    // A fragment's first piece could be decoded, but its inner frame would be cut anyway.
    if (ihl < 20 || (frame.readUInt16BE(at + 6) & 0x3fff) !== 0) return null;
    return { proto: frame[at + 9] as number, l4: at + ihl, end: Math.min(frame.length, at + frame.readUInt16BE(at + 2)) };
  }
  if (type === ETH_IPV6) {
    if (frame.length < at + 40 || (frame[at] as number) >> 4 !== 6) return null;
    // Tunnels do not use IPv6 extension headers in practice; one there means "not a tunnel here".
    return { proto: frame[at + 6] as number, l4: at + 40, end: Math.min(frame.length, at + 40 + frame.readUInt16BE(at + 4)) };
  }
  return null;
}

/** The inner frame of a VXLAN, Geneve or GRE packet, or null when `frame` is not one. */
export function decapsulate(frame: Buffer): Decapsulated | null {
  const ip = outerIp(frame);
  if (!ip) return null;
  if (ip.proto === IPPROTO_UDP) {
    if (ip.end < ip.l4 + UDP_HEADER) return null;
    const dport = frame.readUInt16BE(ip.l4 + 2);
    const at = ip.l4 + UDP_HEADER;
    if (VXLAN_PORTS.has(dport)) {
      if (ip.end < at + VXLAN_HEADER || ((frame[at] as number) & VXLAN_FLAG_I) === 0) return null;
      return { tunnel: 'vxlan', linkType: 1, inner: frame.subarray(at + VXLAN_HEADER, ip.end) };
    }
    if (dport === GENEVE_PORT) {
      // RFC 8926 §3.4: version 0, option length in 4-byte words, then the inner protocol type.
      if (ip.end < at + 8 || (frame[at] as number) >> 6 !== 0) return null;
      const optBytes = ((frame[at] as number) & 0x3f) * 4;
      if (frame.readUInt16BE(at + 2) !== ETH_TEB || ip.end < at + 8 + optBytes) return null;
      return { tunnel: 'geneve', linkType: 1, inner: frame.subarray(at + 8 + optBytes, ip.end) };
    }
    return null;
  }
  if (ip.proto === IPPROTO_GRE) {
    if (ip.end < ip.l4 + 4) return null;
    const flags = frame[ip.l4] as number;
    // Version 0 only (version 1 is PPTP's enhanced GRE, which carries PPP).
    if (((frame[ip.l4 + 1] as number) & 0x07) !== 0) return null;
    const type = frame.readUInt16BE(ip.l4 + 2);
    const at = ip.l4 + 4 + (flags & GRE_C ? 4 : 0) + (flags & GRE_K ? 4 : 0) + (flags & GRE_S ? 4 : 0);
    if (ip.end < at) return null;
    if (type === ETH_TEB) return { tunnel: 'gre', linkType: 1, inner: frame.subarray(at, ip.end) };
    if (type === ETH_IPV4 || type === ETH_IPV6) return { tunnel: 'gre', linkType: 101, inner: frame.subarray(at, ip.end) };
  }
  return null;
}
