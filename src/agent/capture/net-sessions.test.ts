import { describe, expect, it } from 'vitest';
import { PROTOCOL_PARSERS } from '../protocols/registry.js';
import { l7ProtocolOf } from '../sessions/protocol-adapter.js';
import { createSessionTable, DEFAULT_SESSION_OPTIONS } from '../sessions/session-table.js';
import { spanIdGenerator } from '../spans/span-ids.js';
import type { FrameEvent } from './capture-event.js';
import { tcpFrame, vxlanFrame, type TcpFrame } from './links/frames.testing.js';
import type { CapturedLink } from './links/link-watcher.js';
import { createNatTracker } from './links/nat-tracker.js';
import { buildNodeView, type LinkInfo } from './links/node-view.js';
import { createNetSessions } from './net-sessions.js';

const view = buildNodeView(
  [
    { ifindex: 2, ifname: 'eth0', linkinfo: { info_kind: 'veth' }, link_netnsid: 0, addr_info: [{ local: '198.18.12.1', scope: 'global' }] },
    { ifindex: 5, ifname: 'br0', linkinfo: { info_kind: 'bridge' }, addr_info: [{ local: '10.244.1.1', scope: 'global' }] },
  ],
  [
    { dst: '10.244.1.0/24', dev: 'br0' },
    { dst: '198.18.12.0/24', dev: 'eth0' },
  ],
  [],
);
const ns = { label: 'node1', view, nat: createNatTracker(), behind: new Map<string, Set<string>>() };
const links = new Map<number, CapturedLink>(view.links.map((info: LinkInfo) => [info.ifindex, { info, displayName: `node1/${info.name}`, ns }]));

function sessions() {
  return createNetSessions({
    table: createSessionTable({ ...DEFAULT_SESSION_OPTIONS, hostId: 'node1', protocols: PROTOCOL_PARSERS.map(l7ProtocolOf), source: 'net', origin: 'packet', newSpanId: spanIdGenerator() }),
    linkOf: (i) => links.get(i),
  });
}

let t = 1_000_000_000n;
const frame = (ifindex: number, direction: 'ingress' | 'egress', data: Buffer): FrameEvent => ({ kind: 'frame', ifindex, direction, unixNano: (t += 1000n), wireBytes: data.length, data });

describe('NET sessions on a node', () => {
  const c = { src: '10.244.1.2', sport: 40000, dst: '10.244.2.2', dport: 6379 };
  const s = { src: '10.244.2.2', sport: 6379, dst: '10.244.1.2', dport: 40000 };
  const req = Buffer.from('*1\r\n$4\r\nPING\r\n');
  const resp = Buffer.from('+PONG\r\n');
  const exchange = (wrap: (f: TcpFrame) => Buffer): Buffer[] => [
    wrap({ ...c, seq: 99, flags: { syn: true } }),
    wrap({ ...s, seq: 499, flags: { syn: true, ack: true } }),
    wrap({ ...c, seq: 100, flags: { ack: true } }),
    wrap({ ...c, seq: 100, payload: req }),
    wrap({ ...c, seq: 100, payload: req }), // retransmitted
    wrap({ ...s, seq: 500, window: 0, flags: { ack: true } }), // zero window
    wrap({ ...s, seq: 500, payload: resp }),
    wrap({ ...c, seq: 100 + req.length, flags: { rst: true } }),
  ];

  it('marks the hop: observation point from the topology, retransmissions, zero windows, resets', () => {
    const net = sessions();
    const spans = [...net.push(exchange(tcpFrame).map((d) => frame(5, 'ingress', d))), ...net.flush()];
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ observationPoint: 'c-nd', kind: 'client', interfaceName: 'node1/br0', protocol: 'redis', reqTcpSeq: 100, respTcpSeq: 500 });
    expect(spans[0]?.attributes).toMatchObject({ 'weft.interface.role': 'bridge', 'weft.tcp.retransmissions': 1, 'weft.tcp.zero_windows': 1, 'weft.tcp.resets': 1 });
  });

  it('reads the inner flow of the VXLAN an uplink carries', () => {
    const net = sessions();
    const spans = [...net.push(exchange((f) => vxlanFrame('198.18.12.1', '198.18.12.2', tcpFrame(f))).map((d) => frame(2, 'egress', d))), ...net.flush()];
    expect(spans[0]).toMatchObject({ observationPoint: 'c-nd', clientIp: '10.244.1.2', serverIp: '10.244.2.2', reqTcpSeq: 100 });
    expect(spans[0]?.attributes['weft.tunnel.type']).toBe('vxlan');
    expect(net.netStats().decapsulatedFrames).toBe(8);
  });

  it('keeps one flow where replies come back already translated (DNAT at a bridge port)', () => {
    const net = sessions();
    const vip = { ...c, dst: '10.96.0.10', dport: 80, sport: 41000 };
    const pod = { ...c, dport: 8080, sport: 41000 };
    const http = Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    const frames = [
      frame(2, 'ingress', tcpFrame({ ...vip, seq: 9, flags: { syn: true } })), // another interface saw it first, untranslated
      frame(5, 'ingress', tcpFrame({ ...pod, seq: 9, flags: { syn: true } })),
      frame(5, 'egress', tcpFrame({ src: vip.dst, sport: 80, dst: c.src, dport: 41000, seq: 70, flags: { syn: true, ack: true } })),
      frame(5, 'ingress', tcpFrame({ ...pod, seq: 10, payload: http })),
      frame(5, 'egress', tcpFrame({ src: vip.dst, sport: 80, dst: c.src, dport: 41000, seq: 71, payload: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') })),
    ];
    const spans = [...net.push(frames), ...net.flush()].filter((x) => x.interfaceName === 'node1/br0');
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ serverIp: '10.244.2.2', serverPort: 8080, responseCode: 200, observationPoint: 's-gw' });
    expect(spans[0]?.attributes).toMatchObject({ 'weft.nat.original': '10.244.1.2:41000>10.96.0.10:80', 'weft.nat.translated': '10.244.1.2:41000>10.244.2.2:8080' });
  });
});
