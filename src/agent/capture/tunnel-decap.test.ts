import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { greFrame, ipv4Packet, tcpFrame, tcpSegment, vxlanFrame } from './links/frames.testing.js';
import { decodePacket } from './pcap/packet-decode.js';
import { decapsulate } from './tunnel-decap.js';

const inner = { src: '10.244.1.2', dst: '10.244.2.2', sport: 40000, dport: 6379, seq: 123456, payload: Buffer.from('*1\r\n$4\r\nPING\r\n') };

describe('tunnel decapsulation', () => {
  it('reads the inner frame of VXLAN: the workloads\' tuple and tcp seq, not the nodes\' UDP', () => {
    const d = decapsulate(vxlanFrame('198.18.12.1', '198.18.12.2', tcpFrame(inner)));
    expect(d?.tunnel).toBe('vxlan');
    const p = d ? decodePacket(d.linkType, d.inner) : null;
    expect(p).toMatchObject({ srcIp: '10.244.1.2', dstIp: '10.244.2.2', srcPort: 40000, dstPort: 6379, seq: 123456, wireLength: inner.payload.length });
  });

  it('reads GRE carrying IP', () => {
    const d = decapsulate(greFrame('198.18.12.1', '198.18.12.2', ipv4Packet(inner.src, inner.dst, 6, tcpSegment(inner))));
    expect(d).toMatchObject({ tunnel: 'gre', linkType: 101 });
    expect(d ? decodePacket(d.linkType, d.inner) : null).toMatchObject({ srcIp: inner.src, seq: inner.seq });
  });

  it('leaves frames that are not tunnels alone', () => {
    expect(decapsulate(tcpFrame(inner))).toBeNull();
    // UDP to 4789 without the VXLAN I flag is not VXLAN.
    const f = vxlanFrame('198.18.12.1', '198.18.12.2', tcpFrame(inner));
    f[14 + 20 + 8] = 0;
    expect(decapsulate(f)).toBeNull();
  });

  it('never throws and never reads past the frame on hostile bytes, cut frames included', () => {
    const real = vxlanFrame('198.18.12.1', '198.18.12.2', tcpFrame(inner));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(real.length), (bytes, cut) => {
        for (const frame of [Buffer.from(bytes), real.subarray(0, cut)]) {
          const d = decapsulate(frame);
          if (d) expect(d.inner.byteOffset + d.inner.length).toBeLessThanOrEqual(frame.byteOffset + frame.length);
        }
      }),
    );
  });
});
