/**
 * @module One captured frame → its IP/TCP or IP/UDP facts and L4 payload, or null for anything
 * else (ARP, ICMP, fragments, truncated headers). Link layers: Ethernet (with 802.1Q/802.1ad
 * tags), Linux cooked v1 and v2 (`tcpdump -i any`), raw IP, and BSD loopback (DLT_NULL).
 * Every offset is checked against the captured length: hostile files give null, never a throw.
 */
import { formatIpv4, formatIpv6 } from '../ip-format.js';

export interface DecodedPacket {
  ipVersion: 4 | 6;
  transport: 'tcp' | 'udp';
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** TCP sequence number of the first payload byte (0 for UDP). */
  seq: number;
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  /** TCP receive window as sent (unscaled; 0 is a zero window); 0 for UDP. */
  window: number;
  /** The payload bytes captured (a capture's snap length may cut them short). */
  payload: Buffer;
  /** The payload's length on the wire, from the IP header: what the sequence numbers count. */
  wireLength: number;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;
/** DLT_RAW on some systems. */
const LINKTYPE_RAW_ALT = 12;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = [0x8100, 0x88a8, 0x9100];

/** Where the IP header starts and which IP version, or null. */
function ipStart(linkType: number, d: Buffer): { at: number; v: 4 | 6 } | null {
  const byVersion = (at: number): { at: number; v: 4 | 6 } | null => {
    if (at >= d.length) return null;
    const v = (d[at] as number) >> 4;
    return v === 4 || v === 6 ? { at, v } : null;
  };
  const byEtherType = (type: number, at: number): { at: number; v: 4 | 6 } | null =>
    type === ETH_IPV4 ? { at, v: 4 } : type === ETH_IPV6 ? { at, v: 6 } : null;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      let at = 12;
      if (d.length < at + 2) return null;
      let type = d.readUInt16BE(at);
      while (ETH_VLAN.includes(type)) {
        at += 4;
        if (d.length < at + 2) return null;
        type = d.readUInt16BE(at);
      }
      return byEtherType(type, at + 2);
    }
    case LINKTYPE_LINUX_SLL:
      return d.length < 16 ? null : byEtherType(d.readUInt16BE(14), 16);
    case LINKTYPE_LINUX_SLL2:
      return d.length < 20 ? null : byEtherType(d.readUInt16BE(0), 20);
    case LINKTYPE_NULL:
      // A 4-byte address family in the capturing host's byte order; the IP version says enough.
      return byVersion(4);
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_ALT:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return byVersion(0);
    default:
      return null;
  }
}

/** The link types `decodePacket` reads. */
const DECODED_LINK_TYPES = new Set([LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL, LINKTYPE_RAW, LINKTYPE_RAW_ALT, LINKTYPE_IPV4, LINKTYPE_IPV6]);

export function decodesLinkType(linkType: number): boolean {
  return DECODED_LINK_TYPES.has(linkType);
}

/** tcpdump.org's names for link types seen in the wild, so an error can say what the file holds. */
const LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'NULL', 1: 'ETHERNET', 6: 'IEEE802_5', 9: 'PPP', 10: 'FDDI', 12: 'RAW', 50: 'PPP_HDLC', 101: 'RAW', 104: 'C_HDLC',
  105: 'IEEE802_11', 113: 'LINUX_SLL', 127: 'IEEE802_11_RADIOTAP', 143: 'DOCSIS', 147: 'USER0', 148: 'USER1', 149: 'USER2',
  150: 'USER3', 187: 'BLUETOOTH_HCI_H4', 189: 'USB_LINUX', 195: 'IEEE802_15_4_WITHFCS', 201: 'BLUETOOTH_HCI_H4_WITH_PHDR',
  215: 'IEEE802_15_4_NONASK_PHY', 220: 'USB_LINUX_MMAPPED', 228: 'IPV4', 229: 'IPV6', 249: 'NETLINK', 253: 'NFLOG',
  254: 'NETANALYZER', 276: 'LINUX_SLL2', 288: 'ETW',
};

/** `LINKTYPE_USER0 (147)`, or `link type 999` for a number tcpdump.org does not list here. */
export function linkTypeName(linkType: number): string {
  const name = LINK_TYPE_NAMES[linkType];
  return name === undefined ? `link type ${linkType}` : `LINKTYPE_${name} (${linkType})`;
}

const IPV6_EXTENSIONS = new Set([0, 43, 60]); // hop-by-hop, routing, destination options
const IPV6_FRAGMENT = 44;

export function decodePacket(linkType: number, d: Buffer): DecodedPacket | null {
  const ip = ipStart(linkType, d);
  if (!ip) return null;
  let proto: number;
  let l4: number;
  /** End of the IP packet as its header says, and as far as it was captured. */
  let wireEnd: number;
  let end: number;
  let srcIp: string;
  let dstIp: string;
  const at = ip.at;
  if (ip.v === 4) {
    if (d.length < at + 20 || (d[at] as number) >> 4 !== 4) return null;
    const ihl = ((d[at] as number) & 0x0f) * 4;
    if (ihl < 20 || d.length < at + ihl) return null;
    const fragment = d.readUInt16BE(at + 6);
    if ((fragment & 0x1fff) !== 0 || (fragment & 0x2000) !== 0) return null; // fragments are not reassembled
    proto = d[at + 9] as number;
    srcIp = formatIpv4(d, at + 12);
    dstIp = formatIpv4(d, at + 16);
    l4 = at + ihl;
    wireEnd = at + d.readUInt16BE(at + 2);
    end = Math.min(d.length, wireEnd);
  } else {
    if (d.length < at + 40 || (d[at] as number) >> 4 !== 6) return null;
    proto = d[at + 6] as number;
    srcIp = formatIpv6(d, at + 8);
    dstIp = formatIpv6(d, at + 24);
    l4 = at + 40;
    wireEnd = l4 + d.readUInt16BE(at + 4);
    end = Math.min(d.length, wireEnd);
    while (IPV6_EXTENSIONS.has(proto)) {
      if (end < l4 + 8) return null;
      proto = d[l4] as number;
      l4 += ((d[l4 + 1] as number) + 1) * 8;
    }
    if (proto === IPV6_FRAGMENT) return null;
  }
  if (proto === 6) {
    if (end < l4 + 20) return null;
    const dataOff = ((d[l4 + 12] as number) >> 4) * 4;
    if (dataOff < 20 || end < l4 + dataOff) return null;
    const flags = d[l4 + 13] as number;
    return {
      ipVersion: ip.v,
      transport: 'tcp',
      srcIp,
      dstIp,
      srcPort: d.readUInt16BE(l4),
      dstPort: d.readUInt16BE(l4 + 2),
      seq: d.readUInt32BE(l4 + 4),
      syn: (flags & 0x02) !== 0,
      ack: (flags & 0x10) !== 0,
      fin: (flags & 0x01) !== 0,
      rst: (flags & 0x04) !== 0,
      window: d.readUInt16BE(l4 + 14),
      payload: d.subarray(l4 + dataOff, end),
      wireLength: Math.max(0, wireEnd - (l4 + dataOff)),
    };
  }
  if (proto === 17) {
    if (end < l4 + 8) return null;
    return {
      ipVersion: ip.v,
      transport: 'udp',
      srcIp,
      dstIp,
      srcPort: d.readUInt16BE(l4),
      dstPort: d.readUInt16BE(l4 + 2),
      seq: 0,
      syn: false,
      ack: false,
      fin: false,
      rst: false,
      window: 0,
      payload: d.subarray(l4 + 8, end),
      wireLength: Math.max(0, wireEnd - (l4 + 8)),
    };
  }
  return null;
}
