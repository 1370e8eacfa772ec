import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EbpfEvent } from '../../ebpf/decode-events.js';
import { createSysNamespaceFilter } from '../sys-namespace-filter.js';
import { ownAddresses, parseLsnsNetnsIds, parseNetnsListIds, podNamespaces, type NodeNamespaces } from './node-namespaces.js';
import { parseLinks } from './node-view.js';

/** node1 of the network-path demo: its wire to node2 (an address: not a pod) and pod A's veth. */
const node1 = parseLinks([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], link_type: 'loopback', addr_info: [{ local: '127.0.0.1', scope: 'host' }] },
  { ifindex: 2, ifname: 'eth0', flags: ['UP'], link_netnsid: 0, linkinfo: { info_kind: 'veth' }, addr_info: [{ local: '198.18.12.1', scope: 'global' }] },
  { ifindex: 3, ifname: 'veth-a', flags: ['UP'], master: 'br0', link_netnsid: 1, linkinfo: { info_kind: 'veth' }, addr_info: [{ local: 'fe80::2', scope: 'link' }] },
  { ifindex: 5, ifname: 'br0', flags: ['UP'], linkinfo: { info_kind: 'bridge' }, addr_info: [{ local: '10.244.1.1', scope: 'global' }] },
]);

describe('the node\'s namespaces', () => {
  it('are the pods behind container veths, named through lsns or `ip netns list-id`, not the wire\'s peer', () => {
    const lsns = { namespaces: [
      { ns: 4026531833, netnsid: 'unassigned', pid: 1 },
      { ns: 4026532200, netnsid: '0', pid: 900 },
      { ns: 4026532300, netnsid: '1', pid: 901 },
    ] };
    const byId = parseLsnsNetnsIds(lsns);
    expect(byId.get(1)).toEqual({ inode: 4026532300, enterPath: '/proc/901/ns/net' });
    expect(byId.has(NaN)).toBe(false);
    expect(podNamespaces(node1, byId).map((p) => p.inode)).toEqual([4026532300]);
    expect(ownAddresses(node1).sort()).toEqual(['10.244.1.1', '198.18.12.1']);
    expect([...parseNetnsListIds([{ nsid: 1, name: 'wft-pa' }, { nsid: 2, name: '../etc' }, { nsid: 'x', name: 'y' }])]).toEqual([[1, '/run/netns/wft-pa']]);
  });

  it('parsers take any JSON without throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        parseLsnsNetnsIds(v);
        parseNetnsListIds(v);
        podNamespaces(parseLinks(v), parseLsnsNetnsIds(v));
      }),
    );
  });
});

describe('--sys-namespaces node', () => {
  const node: NodeNamespaces = {
    has: (ino) => ino === 10 || ino === 11,
    inodes: () => new Set([10, 11]),
    namespaceOfAddress: (ip) => (ip === '10.244.1.2' ? 11 : undefined),
    refresh: async () => undefined,
    close: () => undefined,
  };
  const live = new Map<number, number>([
    [100, 11], // a pod's process
    [200, 20], // another node's
  ]);
  const data = (pid: number, localIp: string): EbpfEvent => ({ kind: 'connect', socketId: 1n, pid, tid: pid, comm: 'x', unixNano: 1n, transport: 'tcp', ipVersion: 4, localIp, localPort: 1, remoteIp: '10.244.2.2', remotePort: 2 });

  it('keeps the node\'s processes and frames, drops others, and places a process gone from /proc by its socket\'s own address', () => {
    const f = createSysNamespaceFilter(node, (pid) => live.get(pid) ?? null);
    const frame = { kind: 'frame' } as unknown as EbpfEvent;
    const kept = f.keep([data(100, '10.244.1.2'), data(200, '10.244.2.2'), frame, data(300, '10.244.1.2'), data(301, '127.0.0.1'), data(302, '10.244.2.2')]);
    expect(kept.map((e) => (e.kind === 'frame' ? 'frame' : e.pid))).toEqual([100, 'frame', 300]);
    // 300 stays placed for its later events that carry no address (its close, its exit).
    expect(f.keep([{ kind: 'exit', pid: 300, comm: 'curl', unixNano: 2n }]).length).toBe(1);
    expect(f.stats()).toMatchObject({ placedByAddress: 1, unplaced: 2 });
  });

  it('reads a process again after it execs (ip netns exec enters, then execs)', () => {
    let ns = 1;
    const f = createSysNamespaceFilter(node, () => ns);
    expect(f.keep([data(400, '')]).length).toBe(0);
    ns = 10;
    expect(f.keep([{ kind: 'exec', pid: 400, comm: 'curl', unixNano: 2n }, data(400, '')]).length).toBe(2);
  });
});
