/**
 * @module Reading message chains out of a trace for the network-path test: the spans of one
 * message, from its c-p down the `tcp_seq` links to its s-p, and the hops the topology must show.
 */

export interface PathSpan {
  id: string;
  parentId: string | null;
  linkReason: string | null;
  source: string;
  observationPoint: string;
  processName: string;
  protocol: string;
  requestType: string;
  requestResource: string;
  interfaceName: string;
  hostId: string;
  spanId: string;
  serverIp: string;
  serverPort: number;
  attributes: Record<string, string | number | boolean>;
}

export type HopName = 'client' | 'proxy' | 'redis';

/** Each message's chain, `observationPoint interfaceName` per span, c-p first. */
export function expectedHops(node1: string, node2: string): Record<HopName, string[]> {
  const n1 = (i: string): string => `${node1}/${i}`;
  const n2 = (i: string): string => `${node2}/${i}`;
  return {
    // curl (pod A) → service address → nginx (pod B): node1 DNATs where the frame enters its
    // bridge (br_netfilter, as kube-proxy needs), so from br0 on the tuple is translated.
    client: ['c-p ', `c ${n1('veth-a')}`, `s-gw ${n1('br0')}`, `s-gw ${n1('vxlan0')}`, `s-gw ${n1('eth0')}`, `s-nd ${n2('eth0')}`, `s-nd ${n2('vxlan0')}`, `s-nd ${n2('br0')}`, `s ${n2('veth-b')}`, 's-p '],
    // nginx (pod B) → the Node service (pod A), no translation.
    proxy: ['c-p ', `c ${n2('veth-b')}`, `c-nd ${n2('br0')}`, `c-nd ${n2('vxlan0')}`, `c-nd ${n2('eth0')}`, `s-nd ${n1('eth0')}`, `s-nd ${n1('vxlan0')}`, `s-nd ${n1('br0')}`, `s ${n1('veth-a')}`, 's-p '],
    // the Node service (pod A) → Redis (pod B).
    redis: ['c-p ', `c ${n1('veth-a')}`, `c-nd ${n1('br0')}`, `c-nd ${n1('vxlan0')}`, `c-nd ${n1('eth0')}`, `s-nd ${n2('eth0')}`, `s-nd ${n2('vxlan0')}`, `s-nd ${n2('br0')}`, `s ${n2('veth-b')}`, 's-p '],
  };
}

/** The chain below a c-p: each next span is the one child linked by `tcp_seq`. */
function chainFrom(cp: PathSpan, children: Map<string, PathSpan[]>): PathSpan[] {
  const chain = [cp];
  for (let at = cp; ; ) {
    const next = (children.get(at.id) ?? []).filter((c) => c.linkReason === 'tcp_seq');
    if (next.length !== 1) return chain;
    at = next[0] as PathSpan;
    chain.push(at);
  }
}

/** The chains of the request at `path`: curl's call, nginx's call, the Node service's Redis calls. */
export function hopChains(spans: PathSpan[], path: string): Record<HopName, PathSpan[][]> {
  const children = new Map<string, PathSpan[]>();
  for (const s of spans) if (s.parentId) children.set(s.parentId, [...(children.get(s.parentId) ?? []), s]);
  const cps = (process: string): PathSpan[][] =>
    spans.filter((s) => s.observationPoint === 'c-p' && s.processName === process && s.requestResource.includes(path.slice(1))).map((cp) => chainFrom(cp, children));
  return { client: cps('curl'), proxy: cps('nginx'), redis: cps('node') };
}

/** One line per span, for assertion messages. */
export function describeTrace(spans: PathSpan[]): string {
  return spans
    .map((s) => `${s.id.slice(0, 12)} <- ${(s.parentId ?? '-').slice(0, 12)} ${s.linkReason ?? 'root'} ${s.source}/${s.observationPoint} ${s.interfaceName || s.processName} ${s.protocol} ${s.requestResource}`)
    .join('\n');
}
