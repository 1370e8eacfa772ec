/**
 * @module The keys a NET span carries about its place on the network path, shared by the agent
 * (which sets them) and assembly (which checks them when it chains one message across hops).
 */

/** Attribute: the flow's tuple before a translation (NAT, a load balancer) on the agent's node. */
export const NAT_ORIGINAL_ATTR = 'weft.nat.original';
/** Attribute: the same flow's tuple after that translation. */
export const NAT_TRANSLATED_ATTR = 'weft.nat.translated';
/** Attribute: what the capture interface is (container, bridge, tunnel, uplink, loopback, other). */
export const INTERFACE_ROLE_ATTR = 'weft.interface.role';
/** Attribute: the tunnel the frames were decapsulated from (vxlan, geneve, gre), DeepFlow's tunnel_type. */
export const TUNNEL_TYPE_ATTR = 'weft.tunnel.type';
/** Attributes: TCP trouble seen at this hop while this message crossed it (counts, set when > 0). */
export const TCP_RETRANSMISSIONS_ATTR = 'weft.tcp.retransmissions';
export const TCP_ZERO_WINDOWS_ATTR = 'weft.tcp.zero_windows';
export const TCP_RESETS_ATTR = 'weft.tcp.resets';

/** An IPv4-mapped IPv6 address (dual-stack sockets) as plain IPv4, so both views compare equal. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * The text form of a flow's tuple, client first: `10.0.0.2:40000>10.96.0.10:80`
 * (`[fd00::2]:40000>…` for IPv6). '' when an end is unknown.
 */
export function netTupleKey(clientIp: string, clientPort: number, serverIp: string, serverPort: number): string {
  if (!clientIp || !serverIp) return '';
  return `${netEndKey(clientIp, clientPort)}>${netEndKey(serverIp, serverPort)}`;
}

/** One end of a tuple key: `10.0.0.2:40000`, `[fd00::2]:40000`. */
export function netEndKey(ip: string, port: number): string {
  const p = plainIp(ip);
  return p.includes(':') ? `[${p}]:${port}` : `${p}:${port}`;
}

/** The ends of a `netTupleKey`, or null when `key` is not one. */
export function parseTuple(key: string): { clientIp: string; clientPort: number; serverIp: string; serverPort: number } | null {
  const m = /^(\[[^\]]+\]|[^:>]+):(\d+)>(\[[^\]]+\]|[^:>]+):(\d+)$/.exec(key);
  if (!m) return null;
  const ip = (s: string): string => (s.startsWith('[') ? s.slice(1, -1) : s);
  return { clientIp: ip(m[1] as string), clientPort: Number(m[2]), serverIp: ip(m[3] as string), serverPort: Number(m[4]) };
}
