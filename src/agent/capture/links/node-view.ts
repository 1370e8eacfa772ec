/**
 * @module What a node's network namespace looks like, from the kernel (`ip -json -details addr`
 * and `ip -json route`): its interfaces and what each one is, its own addresses, its routes.
 * Observation points are inferred from this (observation-point.ts), so nothing is configured by
 * hand. Parsing is pure and takes `ip`'s JSON as input, so it is tested without a kernel.
 */

/** What an interface is on its node. */
export type LinkRole =
  /** lo: traffic between this namespace's own processes. */
  | 'loopback'
  /** A veth whose peer is in another namespace, with no address of its own (a bridge port, or a
   * routed pod link as Calico makes): the node end of a workload's NIC. */
  | 'container'
  | 'bridge'
  /** VXLAN, Geneve, GRE, IPIP, WireGuard: the node's tunnel to other nodes. */
  | 'tunnel'
  /** A NIC with an address that is none of the above: the node's own uplink (physical, bond, VLAN,
   * or a veth "wire" to another namespace that has an address, as a node's eth0 in a test). */
  | 'uplink'
  | 'other';

export interface LinkInfo {
  ifindex: number;
  name: string;
  role: LinkRole;
  /** `ip -details` kind: veth, bridge, vxlan, … ('' for a physical NIC). */
  kind: string;
  loopback: boolean;
  /** The bridge this interface is a port of, '' when none. */
  master: string;
  /** The interface's own addresses (no prefix). */
  addresses: string[];
  /** A veth's peer namespace as this namespace numbers it (`link_netnsid`); absent when the peer is here. */
  peerNetnsId?: number;
}

export interface Route {
  /** Network address bytes (4 or 16) and prefix length; a default route has prefix 0. */
  net: Uint8Array;
  prefix: number;
  dev: string;
  /** Routed through a gateway (the destination is not on the link itself). */
  viaGateway: boolean;
}

export interface NodeView {
  links: LinkInfo[];
  /** Every address of every interface of the namespace. */
  localAddresses: Set<string>;
  routes: Route[];
}

const TUNNEL_KINDS = new Set(['vxlan', 'geneve', 'gre', 'gretap', 'ip6gre', 'ip6gretap', 'ipip', 'ip6tnl', 'sit', 'wireguard', 'erspan', 'ip6erspan', 'bareudp']);
const BRIDGE_KINDS = new Set(['bridge', 'openvswitch']);

interface IpAddrJson {
  ifindex?: unknown;
  ifname?: unknown;
  flags?: unknown;
  link_type?: unknown;
  master?: unknown;
  link_netnsid?: unknown;
  linkinfo?: { info_kind?: unknown };
  addr_info?: { local?: unknown; scope?: unknown }[];
}

function roleOf(kind: string, loopback: boolean, peerElsewhere: boolean, hasAddress: boolean): LinkRole {
  if (loopback) return 'loopback';
  if (TUNNEL_KINDS.has(kind)) return 'tunnel';
  if (BRIDGE_KINDS.has(kind)) return 'bridge';
  if (kind === 'veth' && peerElsewhere && !hasAddress) return 'container';
  if (hasAddress && kind !== 'dummy') return 'uplink';
  return 'other';
}

/** `ip -json -details addr show` → the links of one namespace. Entries it cannot read are skipped. */
export function parseLinks(json: unknown): LinkInfo[] {
  if (!Array.isArray(json)) return [];
  const out: LinkInfo[] = [];
  for (const raw of json as IpAddrJson[]) {
    if (typeof raw !== 'object' || raw === null || typeof raw.ifindex !== 'number' || typeof raw.ifname !== 'string') continue;
    const flags = Array.isArray(raw.flags) ? (raw.flags as unknown[]) : [];
    const loopback = flags.includes('LOOPBACK') || raw.link_type === 'loopback';
    const kind = typeof raw.linkinfo?.info_kind === 'string' ? raw.linkinfo.info_kind : '';
    // Link-local (fe80::) addresses do not make an interface a node's NIC: every veth has one.
    const addresses = (raw.addr_info ?? []).filter((a) => typeof a.local === 'string' && a.scope !== 'link').map((a) => a.local as string);
    out.push({
      ifindex: raw.ifindex,
      name: raw.ifname,
      kind,
      loopback,
      master: typeof raw.master === 'string' ? raw.master : '',
      addresses,
      role: roleOf(kind, loopback, typeof raw.link_netnsid === 'number', addresses.length > 0),
      ...(typeof raw.link_netnsid === 'number' ? { peerNetnsId: raw.link_netnsid } : {}),
    });
  }
  return out;
}

/** Text address → bytes (4 or 16), or null. */
export function ipBytes(ip: string): Uint8Array | null {
  if (ip.includes('.') && !ip.includes(':')) {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
    return Uint8Array.from(parts);
  }
  // IPv6 with an embedded IPv4 tail (other than the mapped form callers strip) is not routed here.
  if (!ip.includes(':') || ip.includes('.')) return null;
  const text = ip;
  const tail: number[] = [];
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const group = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = group(halves[0] as string);
  const rest = halves.length === 2 ? group(halves[1] as string) : [];
  const fill = 8 - head.length - rest.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  if (groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** `ip -json route show` (either family) → routes; unreadable entries are skipped. */
export function parseRoutes(json: unknown, family: 4 | 6): Route[] {
  if (!Array.isArray(json)) return [];
  const out: Route[] = [];
  for (const r of json as { dst?: unknown; dev?: unknown; gateway?: unknown; type?: unknown }[]) {
    if (typeof r !== 'object' || r === null || typeof r.dst !== 'string' || typeof r.dev !== 'string') continue;
    // blackhole/unreachable/prohibit routes lead nowhere.
    if (typeof r.type === 'string' && r.type !== 'unicast') continue;
    let net: Uint8Array | null;
    let prefix: number;
    if (r.dst === 'default') {
      net = new Uint8Array(family === 4 ? 4 : 16);
      prefix = 0;
    } else {
      const [addr, len] = r.dst.split('/');
      net = ipBytes(addr as string);
      prefix = len === undefined ? (net?.length ?? 0) * 8 : Number(len);
    }
    if (!net || !Number.isInteger(prefix) || prefix < 0 || prefix > net.length * 8) continue;
    out.push({ net, prefix, dev: r.dev, viaGateway: typeof r.gateway === 'string' });
  }
  return out;
}

function inPrefix(ip: Uint8Array, net: Uint8Array, prefix: number): boolean {
  if (ip.length !== net.length) return false;
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (ip[i] !== net[i]) return false;
  const bits = prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((ip[whole] as number) & mask) === ((net[whole] as number) & mask);
}

/** The longest-prefix route to `ip`, as the kernel's main table would choose (metrics aside). */
export function routeTo(view: NodeView, ip: string): Route | null {
  const b = ipBytes(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);
  if (!b) return null;
  let best: Route | null = null;
  for (const r of view.routes) if (inPrefix(b, r.net, r.prefix) && (!best || r.prefix > best.prefix)) best = r;
  return best;
}

export function buildNodeView(linksJson: unknown, routes4Json: unknown, routes6Json: unknown): NodeView {
  const links = parseLinks(linksJson);
  return {
    links,
    localAddresses: new Set(links.flatMap((l) => l.addresses)),
    routes: [...parseRoutes(routes4Json, 4), ...parseRoutes(routes6Json, 6)],
  };
}
