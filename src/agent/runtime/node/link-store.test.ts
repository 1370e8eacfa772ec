import { describe, expect, it } from 'vitest';
import { createLinkStore } from './link-store.js';
import { parseReportLine } from './report-lines.js';

const PID = 4242;
const OFFSET = 1_000_000_000_000n;
const OUT = { localIp: '127.0.0.1', localPort: 40000, remoteIp: '127.0.0.1', remotePort: 6379 };
const IN_A = '127.0.0.1 8080 127.0.0.1 51000';
const IN_B = '127.0.0.1 8080 127.0.0.1 51002';
/** ISN + 1 of the outbound connection, as the kernel would number its first byte. */
const ISN1 = 0xfffffff0;

function storeWith(lines: string[]) {
  const store = createLinkStore({ offsetNs: OFFSET });
  store.open(PID);
  for (const l of lines) store.apply(PID, parseReportLine(l));
  return store;
}

/** Two requests (contexts 1 and 2) whose messages sit on one client socket, the second corked behind the first. */
const BASE = [
  `C 1 ${IN_A} 1 100`,
  `C 2 ${IN_B} 3 110`,
  'S 7 127.0.0.1 40000 127.0.0.1 6379',
  'W 7 0 20 1',
  'W 7 20 30 2',
  'W 7 50 10 0',
  // One writev carried both messages: a sync window [1000, 1010] from offset 0.
  'F 7 0 50 1000 1010 1',
  'U 2000',
];

describe('link store', () => {
  it('learns seq = ISN+1+offset from a kernel write inside a sync window, then maps every message start exactly', () => {
    const store = storeWith(BASE);
    store.observeEgress(PID, OUT, ISN1, OFFSET + 1005n);
    expect(store.inboundFor(PID, OUT, ISN1, 0n)).toMatchObject({ remotePort: 51000, ordinal: 1, requestStartUnixNano: OFFSET + 100n });
    // The second message starts 20 bytes later; the seq wraps past 2^32 here.
    expect(store.inboundFor(PID, OUT, (ISN1 + 20) >>> 0, 0n)).toMatchObject({ remotePort: 51002, ordinal: 3 });
    expect(store.stats().learnedSockets).toBe(1);
  });

  it('answers undefined without a learned delta, for a message inside a write() call, for a write without context, and for unknown sockets or pids', () => {
    const store = storeWith(BASE);
    expect(store.inboundFor(PID, OUT, ISN1, OFFSET + 1005n)).toBeUndefined();
    store.observeEgress(PID, OUT, ISN1, OFFSET + 1005n);
    expect(store.inboundFor(PID, OUT, (ISN1 + 5) >>> 0, 0n)).toBeUndefined();
    expect(store.inboundFor(PID, OUT, (ISN1 + 50) >>> 0, 0n)).toBeUndefined();
    expect(store.inboundFor(PID, OUT, (ISN1 + 60) >>> 0, 0n)).toBeUndefined();
    expect(store.inboundFor(PID, { ...OUT, localPort: 40001 }, ISN1, 0n)).toBeUndefined();
    expect(store.inboundFor(PID + 1, OUT, ISN1, 0n)).toBeUndefined();
  });

  it('ignores kernel writes outside every sync window, and non-sync windows', () => {
    const store = storeWith([...BASE, 'F 7 50 10 3000 3010 0', 'U 4000']);
    store.observeEgress(PID, OUT, (ISN1 + 50) >>> 0, OFFSET + 3005n);
    store.observeEgress(PID, OUT, 12345, OFFSET + 1500n);
    expect(store.inboundFor(PID, OUT, ISN1, 0n)).toBeUndefined();
    expect(store.stats().learnedSockets).toBe(0);
  });

  it('a second pairing that disagrees marks the socket conflicting: it answers nothing from then on', () => {
    const store = storeWith([...BASE, 'W 7 60 10 1', 'F 7 50 20 3000 3010 1', 'U 4000']);
    store.observeEgress(PID, OUT, ISN1, OFFSET + 1005n);
    expect(store.inboundFor(PID, OUT, ISN1, 0n)).toBeDefined();
    store.observeEgress(PID, OUT, (ISN1 + 99) >>> 0, OFFSET + 3005n);
    expect(store.inboundFor(PID, OUT, ISN1, 0n)).toBeUndefined();
    expect(store.stats().conflictingSockets).toBe(1);
  });

  it('overlapping write reports make the socket untrustworthy', () => {
    const store = storeWith([...BASE, 'W 7 55 10 2']);
    store.observeEgress(PID, OUT, ISN1, OFFSET + 1005n);
    expect(store.inboundFor(PID, OUT, ISN1, 0n)).toBeUndefined();
  });

  it('reportedUntil is the newest U line in wall time; a forgotten pid answers nothing', () => {
    const store = storeWith(BASE);
    expect(store.reportedUntil(PID)).toBe(OFFSET + 2000n);
    store.forget(PID);
    expect(store.reportedUntil(PID)).toBe(0n);
    expect(store.has(PID)).toBe(false);
  });

  it('maps offsets past 4 GiB on a long-lived connection to the right wrap', () => {
    const big = 5 * 4294967296 + 100;
    const store = storeWith([`C 1 ${IN_A} 9 100`, 'S 7 127.0.0.1 40000 127.0.0.1 6379', `W 7 ${big} 10 1`, `F 7 ${big} 10 1000 1010 1`, 'U 2000']);
    store.observeEgress(PID, OUT, 777, OFFSET + 1001n);
    expect(store.inboundFor(PID, OUT, 777, 0n)).toMatchObject({ ordinal: 9 });
  });
});
