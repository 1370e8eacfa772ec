/**
 * @module The observation point of a NET span, inferred from the topology around the interface
 * it was captured on (DeepFlow's names, `tap_side`). Rules, first match wins:
 *
 * 1. Loopback, or both ends are addresses of this namespace → `c`: one capture between two local
 *    processes stands for the client's NIC (DeepFlow would say `local`; Weft keeps the span where
 *    the chain needs it, right after the client's c-p).
 * 2. An end's address is one of this namespace's own → the interface is that endpoint's own NIC:
 *    `c` when the client is here, `s` when the server is (a host-network process, or an agent
 *    running inside a workload's namespace).
 * 3. A container link (a veth whose peer is in another namespace and which has no address of its
 *    own: a bridge port, or a routed pod link) → the end behind it is the workload: `c` when the
 *    client is behind it, `s` when the server is. "Behind" is learned from the frames the link
 *    receives from its peer, and from routes that point at it.
 * 4. The node translates this flow (NAT, see nat-tracker.ts): the interfaces that see the
 *    original tuple are on the client's side of the translation — `c-nd` when the client is on
 *    this node (kube-proxy's DNAT on the client's node), else `c-gw` (a gateway) — and those that
 *    see the translated tuple are on the server's side — `s-nd` when the server is on this node,
 *    else `s-gw`.
 * 5. Bridge, tunnel, uplink: `c-nd` when the client is on this node (behind a bridge or container
 *    link, by the routes or the frames seen), `s-nd` when the server is, `local` when both are
 *    (two workloads of one node, seen on the bridge), `rest` when neither is (a node the flow only
 *    passes through).
 *
 * So one message through kube-proxy DNAT on the client's node and a VXLAN overlay reads
 * c-p → c → c-nd (bridge, original tuple) → s-gw (tunnel and uplink, translated) → s-nd (uplink,
 * tunnel, bridge of the server's node) → s → s-p, and without NAT c → c-nd … → s-nd → s.
 */
import type { ObservationPoint } from '../../../model/index.js';
import type { Translation } from './nat-tracker.js';
import { routeTo, type LinkInfo, type NodeView } from './node-view.js';

export type NetPoint = Extract<ObservationPoint, 'c' | 's' | 'c-nd' | 's-nd' | 'c-gw' | 's-gw' | 'local' | 'rest'>;

export interface FlowEnds {
  clientIp: string;
  serverIp: string;
  /** The flow's tuple as seen here (netTupleKey). */
  tuple: string;
}

export interface PointContext {
  view: NodeView;
  /** Addresses seen behind each container link (by interface name). */
  behind: ReadonlyMap<string, ReadonlySet<string>>;
  /** The node's translation of this flow, if any. */
  translation: Translation | null;
}

const plain = (ip: string): string => (ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);

/** The address belongs to this namespace, or to a workload of this node (behind a bridge or container link). */
export function onNode(ip: string, ctx: PointContext): boolean {
  const a = plain(ip);
  if (ctx.view.localAddresses.has(a)) return true;
  for (const set of ctx.behind.values()) if (set.has(a)) return true;
  const r = routeTo(ctx.view, a);
  if (!r || r.viaGateway) return false;
  const dev = ctx.view.links.find((l) => l.name === r.dev);
  return dev !== undefined && (dev.role === 'bridge' || dev.role === 'container');
}

export function inferObservationPoint(link: LinkInfo, flow: FlowEnds, ctx: PointContext): NetPoint {
  const client = plain(flow.clientIp);
  const server = plain(flow.serverIp);
  const clientSelf = ctx.view.localAddresses.has(client);
  const serverSelf = ctx.view.localAddresses.has(server);
  if (link.role === 'loopback' || clientSelf) return 'c';
  if (serverSelf) return 's';
  if (link.role === 'container') {
    const behind = ctx.behind.get(link.name);
    const routed = (ip: string): boolean => routeTo(ctx.view, ip)?.dev === link.name;
    if (behind?.has(client) || routed(client)) return 'c';
    if (behind?.has(server) || routed(server)) return 's';
  }
  const t = ctx.translation;
  if (t && flow.tuple === t.original) return onNode(client, ctx) ? 'c-nd' : 'c-gw';
  if (t && flow.tuple === t.translated) return onNode(server, ctx) ? 's-nd' : 's-gw';
  const c = onNode(client, ctx);
  const s = onNode(server, ctx);
  if (c && s) return 'local';
  if (c) return 'c-nd';
  if (s) return 's-nd';
  return 'rest';
}
