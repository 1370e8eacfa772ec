/** @module Flow bookkeeping: bounded, least recently seen first out, idle flows closed. */
import { describe, expect, it } from 'vitest';
import type { DecodedPacket } from './packet-decode.js';
import { createPacketFlows } from './packet-flows.js';

const udp = (srcPort: number): DecodedPacket => ({
  ipVersion: 4,
  transport: 'udp',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  srcPort,
  dstPort: 53,
  seq: 0,
  syn: false,
  ack: false,
  fin: false,
  rst: false,
  window: 0,
  payload: Buffer.from('q'),
  wireLength: 1,
});

describe('packet flows', () => {
  it('keeps at most maxFlows, closing the least recently seen', () => {
    const flows = createPacketFlows({ maxFlows: 16 });
    const closed: bigint[] = [];
    for (let i = 0; i < 40; i++) {
      for (const e of flows.push(udp(10_000 + i), BigInt(i), 'eth0')) if (e.kind === 'close') closed.push(e.socketId);
    }
    expect(flows.stats().flows).toBe(40);
    // Flows are numbered from 1 in arrival order: the closed ones are the oldest.
    expect(closed.length).toBeGreaterThanOrEqual(24);
    expect(Math.max(...closed.map(Number))).toBeLessThan(40 - 15);
  });

  it('closes flows idle for longer than asked', () => {
    const flows = createPacketFlows();
    flows.push(udp(1), 0n, 'eth0');
    flows.push(udp(2), 5_000n, 'eth0');
    expect(flows.expire(6_000n, 2_000n).map((e) => e.kind)).toEqual(['close']);
    expect(flows.expire(6_000n, 2_000n)).toEqual([]);
  });
});
