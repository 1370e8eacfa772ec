import { describe, expect, it } from 'vitest';
import { createNatTracker } from './nat-tracker.js';
import { parseInterfacePatterns } from './interface-patterns.js';
import { buildNodeView, routeTo } from './node-view.js';
import { inferObservationPoint, type PointContext } from './observation-point.js';
import { decodePacket } from '../pcap/packet-decode.js';
import { tcpFrame, type TcpFrame } from './frames.testing.js';

/** node1 of the network-path demo, as `ip -json -details addr` and `ip -json route` show it. */
const node1Links = [
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], link_type: 'loopback', addr_info: [{ local: '127.0.0.1', scope: 'host' }] },
  { ifindex: 2, ifname: 'eth0', flags: ['UP'], link_type: 'ether', link_netnsid: 1, linkinfo: { info_kind: 'veth' }, addr_info: [{ local: '198.18.12.1', scope: 'global' }, { local: 'fe80::1', scope: 'link' }] },
  { ifindex: 3, ifname: 'veth-a', flags: ['UP'], master: 'br0', link_netnsid: 2, linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' }, addr_info: [{ local: 'fe80::2', scope: 'link' }] },
  { ifindex: 4, ifname: 'vxlan0', flags: ['UP'], linkinfo: { info_kind: 'vxlan' }, addr_info: [{ local: '10.200.0.1', scope: 'global' }] },
  { ifindex: 5, ifname: 'br0', flags: ['UP'], linkinfo: { info_kind: 'bridge' }, addr_info: [{ local: '10.244.1.1', scope: 'global' }] },
  { ifindex: 6, ifname: 'kube-ipvs0', flags: [], linkinfo: { info_kind: 'dummy' }, addr_info: [] },
  { ifname: 'broken' },
];
const node1Routes = [
  { dst: '10.200.0.0/24', dev: 'vxlan0' },
  { dst: '10.244.1.0/24', dev: 'br0' },
  { dst: '10.244.2.0/24', gateway: '10.200.0.2', dev: 'vxlan0' },
  { dst: '198.18.12.0/24', dev: 'eth0' },
  { dst: '10.9.0.0/16', type: 'blackhole', dev: 'lo' },
];
const view = buildNodeView(node1Links, node1Routes, [{ dst: 'default', gateway: 'fd00::1', dev: 'eth0' }]);
const link = (name: string) => view.links.find((l) => l.name === name)!;

describe('--interfaces patterns', () => {
  it('matches names, * and ?, and keeps the list as given', () => {
    const m = parseInterfacePatterns(['veth*,br?', ' eth0 ']);
    expect(m.patterns).toEqual(['veth*', 'br?', 'eth0']);
    expect(['veth-a', 'br0', 'eth0', 'br10', 'eth01', 'xveth'].filter((n) => m.matches(n))).toEqual(['veth-a', 'br0', 'eth0']);
  });

  it('refuses what can never be an interface name, naming every bad pattern', () => {
    expect(() => parseInterfacePatterns(['eth 0,a/b', 'averyveryverylongname0'])).toThrow(/"eth 0".*"a\/b".*"averyveryverylongname0"/);
  });
});

describe('the node view', () => {
  it('tells what each interface is from the kernel facts', () => {
    expect(view.links.map((l) => [l.name, l.role])).toEqual([
      ['lo', 'loopback'],
      ['eth0', 'uplink'],
      ['veth-a', 'container'],
      ['vxlan0', 'tunnel'],
      ['br0', 'bridge'],
      ['kube-ipvs0', 'other'],
    ]);
    expect(link('eth0').addresses).toEqual(['198.18.12.1']);
  });

  it('routes by longest prefix, IPv4 and IPv6, skipping blackholes', () => {
    expect(routeTo(view, '10.244.2.7')).toMatchObject({ dev: 'vxlan0', viaGateway: true });
    expect(routeTo(view, '10.244.1.9')).toMatchObject({ dev: 'br0', viaGateway: false });
    expect(routeTo(view, '::ffff:10.244.1.9')).toMatchObject({ dev: 'br0' });
    expect(routeTo(view, '2001:db8::1')).toMatchObject({ dev: 'eth0', prefix: 0 });
    expect(routeTo(view, '10.9.1.1')).toBeNull();
    expect(routeTo(view, 'not-an-ip')).toBeNull();
  });
});

describe('observation points from topology', () => {
  const ctx = (translation: PointContext['translation'] = null): PointContext => ({ view, behind: new Map([['veth-a', new Set(['10.244.1.2'])]]), translation });
  const flow = (c: string, cp: number, s: string, sp: number) => ({ clientIp: c, serverIp: s, tuple: `${c}:${cp}>${s}:${sp}` });
  const nat = { original: '10.244.1.2:40000>10.96.0.10:80', translated: '10.244.1.2:40000>10.244.2.2:8080' };

  it('names the container side by which end is behind the veth', () => {
    expect(inferObservationPoint(link('veth-a'), flow('10.244.1.2', 40000, '10.244.2.2', 6379), ctx())).toBe('c');
    expect(inferObservationPoint(link('veth-a'), flow('10.244.2.2', 40000, '10.244.1.2', 3000), ctx())).toBe('s');
  });

  it('names the node side by where the ends live', () => {
    const out = flow('10.244.1.2', 40000, '10.244.2.2', 6379);
    const into = flow('10.244.2.2', 40000, '10.244.1.2', 3000);
    for (const name of ['br0', 'vxlan0', 'eth0']) {
      expect(inferObservationPoint(link(name), out, ctx())).toBe('c-nd');
      expect(inferObservationPoint(link(name), into, ctx())).toBe('s-nd');
    }
    expect(inferObservationPoint(link('br0'), flow('10.244.1.2', 1, '10.244.1.3', 2), ctx())).toBe('local');
    expect(inferObservationPoint(link('eth0'), flow('10.1.1.1', 1, '10.2.2.2', 2), ctx())).toBe('rest');
  });

  it("names the two sides of this node's translation", () => {
    expect(inferObservationPoint(link('br0'), flow('10.244.1.2', 40000, '10.96.0.10', 80), ctx(nat))).toBe('c-nd');
    expect(inferObservationPoint(link('vxlan0'), flow('10.244.1.2', 40000, '10.244.2.2', 8080), ctx(nat))).toBe('s-gw');
    // A gateway that is neither end's node: c-gw before, s-gw after.
    const gw = { original: '10.1.1.1:5>10.96.0.10:80', translated: '10.1.1.1:5>10.2.2.2:80' };
    expect(inferObservationPoint(link('eth0'), flow('10.1.1.1', 5, '10.96.0.10', 80), ctx(gw))).toBe('c-gw');
    expect(inferObservationPoint(link('eth0'), flow('10.1.1.1', 5, '10.2.2.2', 80), ctx(gw))).toBe('s-gw');
  });

  it("puts a capture between this namespace's own processes, and an endpoint's own NIC, at c or s", () => {
    expect(inferObservationPoint(link('lo'), flow('127.0.0.1', 5, '127.0.0.1', 80), ctx())).toBe('c');
    expect(inferObservationPoint(link('eth0'), flow('198.18.12.2', 5, '198.18.12.1', 22), ctx())).toBe('s');
    expect(inferObservationPoint(link('eth0'), flow('198.18.12.1', 5, '198.18.12.2', 22), ctx())).toBe('c');
  });
});

describe('translations from handshakes', () => {
  const pkt = (f: TcpFrame) => decodePacket(1, tcpFrame(f))!;
  const syn = (src: string, sport: number, dst: string, dport: number, seq: number) => pkt({ src, dst, sport, dport, seq, flags: { syn: true } });
  const synAck = (src: string, sport: number, dst: string, dport: number, seq: number) => pkt({ src, dst, sport, dport, seq, flags: { syn: true, ack: true } });

  it('learns a DNAT: the same SYN seen with the service address and then with the pod', () => {
    const nat = createNatTracker();
    nat.observe(syn('10.244.1.2', 40000, '10.96.0.10', 80, 777), 1n);
    nat.observe(syn('10.244.1.2', 40000, '10.96.0.10', 80, 777), 2n); // the next interface, same tuple
    nat.observe(syn('10.244.1.2', 40000, '10.244.2.2', 8080, 777), 3n);
    const t = { original: '10.244.1.2:40000>10.96.0.10:80', translated: '10.244.1.2:40000>10.244.2.2:8080' };
    expect(nat.translationOf(t.original)).toEqual(t);
    expect(nat.translationOf(t.translated)).toEqual(t);
  });

  it('learns an SNAT (server end kept), and a full NAT only when both ISNs agree', () => {
    const nat = createNatTracker();
    nat.observe(syn('10.244.1.2', 40000, '203.0.113.9', 443, 5), 1n);
    nat.observe(syn('198.18.12.1', 61000, '203.0.113.9', 443, 5), 2n);
    expect(nat.translationOf('198.18.12.1:61000>203.0.113.9:443')?.original).toBe('10.244.1.2:40000>203.0.113.9:443');
    const full = createNatTracker();
    full.observe(syn('10.0.0.1', 1000, '10.96.0.1', 80, 9), 1n);
    full.observe(syn('10.0.0.254', 2000, '10.0.5.5', 8080, 9), 2n);
    expect(full.translationOf('10.0.0.1:1000>10.96.0.1:80')).toBeNull();
    full.observe(synAck('10.96.0.1', 80, '10.0.0.1', 1000, 31337), 3n);
    full.observe(synAck('10.0.5.5', 8080, '10.0.0.254', 2000, 31337), 4n);
    expect(full.translationOf('10.0.0.254:2000>10.0.5.5:8080')?.original).toBe('10.0.0.1:1000>10.96.0.1:80');
  });

  it('never joins unrelated flows that share an ISN by chance, nor SYNs seconds apart', () => {
    const nat = createNatTracker();
    nat.observe(syn('10.0.0.1', 1000, '10.0.0.2', 80, 42), 1n);
    nat.observe(syn('10.0.0.3', 3000, '10.0.0.4', 90, 42), 2n);
    nat.observe(synAck('10.0.0.2', 80, '10.0.0.1', 1000, 7), 3n);
    nat.observe(synAck('10.0.0.4', 90, '10.0.0.3', 3000, 8), 4n);
    expect(nat.translationOf('10.0.0.1:1000>10.0.0.2:80')).toBeNull();
    nat.observe(syn('10.0.0.1', 1000, '10.96.0.2', 80, 43), 10n);
    nat.observe(syn('10.0.0.1', 1000, '10.0.0.9', 80, 43), 10n + 5_000_000_000n);
    expect(nat.translationOf('10.0.0.1:1000>10.0.0.9:80')).toBeNull();
  });
});
