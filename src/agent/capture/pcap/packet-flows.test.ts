/** @module Flow bookkeeping: bounded, least recently seen first out, idle flows closed. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

  it('a segment waiting for an earlier one keeps its own bytes, not the capture buffer it came in', async () => {
    // Live capture hands out views into the poll's buffer (megabytes): a segment that waits for a
    // lost one may wait for the flow's life.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const flows = createPacketFlows();
    const tcp = (seq: number, payload: Buffer): DecodedPacket => ({ ...udp(40_000), transport: 'tcp', dstPort: 80, seq, payload, wireLength: payload.length });
    const bytes = (events: ReturnType<typeof flows.push>): string =>
      events.map((e) => (e.kind === 'data' ? Buffer.from(e.payload).toString('latin1') : '')).join('');
    expect(bytes(flows.push(tcp(1000, Buffer.from('GET /')), 1n, 'eth0'))).toBe('GET /');
    const freed = ((): WeakRef<ArrayBuffer> => {
      const poll = new ArrayBuffer(1 << 20);
      const view = Buffer.from(poll, 4096, 6);
      view.write(' HTTP/', 'latin1');
      // Five bytes (1005..1009) are missing: this one waits.
      expect(flows.push(tcp(1010, view), 2n, 'eth0')).toEqual([]);
      new Uint8Array(poll).fill(0x2a);
      return new WeakRef(poll);
    })();
    for (let i = 0; i < 5 && freed.deref() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    expect(freed.deref()).toBeUndefined();
    expect(bytes(flows.push(tcp(1005, Buffer.from('x?a=1')), 3n, 'eth0'))).toBe('x?a=1 HTTP/');
  });
});
