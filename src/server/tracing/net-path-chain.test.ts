import { describe, expect, it } from 'vitest';
import { emptySpan, type ObservationPoint, type SpanRecord } from '../../model/index.js';
import { assemble } from './assemble.js';

const T0 = 1_800_000_000_000_000_000n;
const VIP = { serverIp: '10.96.0.10', serverPort: 80 };
const POD = { serverIp: '10.244.2.2', serverPort: 8080 };
const NAT = { 'weft.nat.original': '10.244.1.2:40000>10.96.0.10:80', 'weft.nat.translated': '10.244.1.2:40000>10.244.2.2:8080' };
let n = 0;

function span(op: ObservationPoint, at: number, o: Partial<SpanRecord> = {}): SpanRecord {
  const source = op === 'c-p' || op === 's-p' ? 'sys' : 'net';
  const s = emptySpan({ source, origin: source === 'sys' ? 'ebpf' : 'packet', observationPoint: op });
  Object.assign(s, {
    spanId: (++n).toString(16).padStart(16, '0'),
    traceId: 'ab'.repeat(16),
    protocol: 'http',
    requestType: 'GET',
    requestResource: '/x',
    startTimeUnixNano: T0 + BigInt(at) * 1000n,
    endTimeUnixNano: T0 + 5_000_000n - BigInt(at) * 1000n,
    clientIp: '10.244.1.2',
    clientPort: 40000,
    transport: 'tcp',
    ipVersion: 4,
    reqTcpSeq: 777,
    respTcpSeq: 999,
    hostId: 'node1',
    ...VIP,
    ...o,
  });
  return s;
}

describe('one message across a DNAT, a bridge and a tunnel on two nodes', () => {
  const path = (): SpanRecord[] => [
    span('c-p', 0),
    span('c', 1, { interfaceName: 'node1/veth-a', attributes: { ...NAT } }),
    span('s-gw', 2, { interfaceName: 'node1/br0', ...POD, attributes: { ...NAT } }),
    span('s-gw', 3, { interfaceName: 'node1/vxlan0', ...POD, attributes: { ...NAT } }),
    span('s-gw', 4, { interfaceName: 'node1/eth0', ...POD, attributes: { ...NAT } }),
    span('s-nd', 5, { interfaceName: 'node2/eth0', hostId: 'node2', ...POD }),
    span('s-nd', 6, { interfaceName: 'node2/br0', hostId: 'node2', ...POD }),
    span('s', 7, { interfaceName: 'node2/veth-b', hostId: 'node2', ...POD }),
    span('s-p', 8, { ...POD }),
  ];

  it('chains every hop in path order, one place per host interface, across the translation', () => {
    const spans = path();
    const trace = assemble(spans);
    const byId = new Map(trace.nodes.map((x) => [x.id, x]));
    const chain: string[] = [];
    for (let at = trace.nodes.find((x) => x.span.observationPoint === 'c-p'); at; ) {
      chain.push(`${at.span.observationPoint} ${at.span.interfaceName}`.trim());
      at = trace.nodes.find((x) => x.parentId === at?.id && x.linkReason === 'tcp_seq');
    }
    expect(chain).toEqual(['c-p', 'c node1/veth-a', 's-gw node1/br0', 's-gw node1/vxlan0', 's-gw node1/eth0', 's-nd node2/eth0', 's-nd node2/br0', 's node2/veth-b', 's-p']);
    expect(byId.size).toBe(spans.length);
  });

  it('never links by seq alone: a flow with both ends different and no recorded translation stays out', () => {
    const stranger = span('s-nd', 5, { interfaceName: 'node3/eth0', hostId: 'node3', clientIp: '10.9.9.9', clientPort: 5555, serverIp: '10.9.9.10', serverPort: 8080 });
    const sysStranger = span('s-p', 8, { spanId: 'ffffffffffffff01', processId: 4242, clientIp: '10.9.9.9', clientPort: 5555, serverIp: '10.9.9.10', serverPort: 8080 });
    const ours = path();
    const trace = assemble([...ours, stranger, sysStranger]);
    const pathIds = new Set(trace.nodes.filter((x) => ours.some((s) => s.spanId === x.span.spanId)).map((x) => x.id));
    // The two strangers are one message of their own (same tuple): they may chain to each other, never into the path.
    for (const x of trace.nodes.filter((y) => !pathIds.has(y.id))) expect(pathIds.has(x.parentId ?? '')).toBe(false);
    for (const x of trace.nodes.filter((y) => pathIds.has(y.id))) expect([stranger.spanId, sysStranger.spanId]).not.toContain(trace.nodes.find((p) => p.id === x.parentId)?.span.spanId);
  });

  it('links a full NAT (both ends changed) only through the translation the node recorded', () => {
    const full = { clientIp: '198.18.12.1', clientPort: 61000, ...POD };
    const spans = [span('c-p', 0), span('c', 1, { interfaceName: 'node1/veth-a' }), span('s-nd', 5, { interfaceName: 'node2/eth0', hostId: 'node2', ...full }), span('s-p', 8, { ...full })];
    const parentOf = (t: ReturnType<typeof assemble>, iface: string): string | undefined => {
      const x = t.nodes.find((y) => y.span.interfaceName === iface);
      return t.nodes.find((y) => y.id === x?.parentId)?.span.observationPoint;
    };
    expect(parentOf(assemble(spans), 'node2/eth0')).toBeUndefined();
    const recorded = { 'weft.nat.original': '10.244.1.2:40000>10.96.0.10:80', 'weft.nat.translated': '198.18.12.1:61000>10.244.2.2:8080' };
    const withRecord = [...spans.slice(0, 2), span('s-gw', 3, { interfaceName: 'node1/eth0', ...full, attributes: recorded }), ...spans.slice(2)];
    expect(parentOf(assemble(withRecord), 'node2/eth0')).toBe('s-gw');
  });
});
