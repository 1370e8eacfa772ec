import { describe, expect, it } from 'vitest';
import { formatShort, hopText, renderTraceTree, type TraceViewSpan } from './trace-tree.js';

const net = (extra: Partial<TraceViewSpan>): TraceViewSpan => ({
  id: 'n',
  parentId: 'p',
  name: 'GET /x',
  service: '',
  source: 'net',
  origin: 'packet',
  observationPoint: 's-gw',
  startTimeUnixNano: '1700000000000012000',
  endTimeUnixNano: '1700000000000900000',
  linkReason: 'tcp_seq',
  ...extra,
});

describe('NET hops in weft trace', () => {
  it('formats wire times in µs below a millisecond and ms above', () => {
    expect(formatShort('12345')).toBe('12.3µs');
    expect(formatShort('-800')).toBe('-0.8µs');
    expect(formatShort('2500000')).toBe('2.500ms');
    expect(formatShort('junk')).toBe('?');
  });

  it('shows the interface, the hop time both ways, the tunnel, the translation and TCP trouble', () => {
    const s = net({
      interfaceName: 'node1/eth0',
      hop: { requestNano: '4200', responseNano: '3100' },
      attributes: { 'weft.tcp.retransmissions': 2, 'weft.tcp.resets': 1, 'weft.tcp.zero_windows': 0, 'weft.tunnel.type': 'vxlan', 'weft.nat.original': 'a:1>b:2', 'weft.nat.translated': 'a:1>c:3' },
    });
    expect(hopText(s)).toBe('@node1/eth0  hop 4.2µs → / 3.1µs ←  retransmissions 2  resets 1  in vxlan  NAT a:1>b:2 ⇒ a:1>c:3');
    const text = renderTraceTree({ traceId: 't', spans: [{ ...net({}), id: 'p', parentId: null, source: 'sys', observationPoint: 'c-p', linkReason: null }, s] }, { color: false });
    expect(text).toContain('net/s-gw packet  via tcp_seq  @node1/eth0  hop 4.2µs → / 3.1µs ←');
  });

  it('keeps hostile interface names and attributes off the terminal', () => {
    const text = renderTraceTree({ traceId: 't', spans: [net({ parentId: null, interfaceName: 'eth0\u001b[2J', attributes: { 'weft.tunnel.type': '\u001b]0;x\u0007' } })] }, { color: false });
    expect(text).not.toMatch(/[\u001b\u0007]/);
  });
});
