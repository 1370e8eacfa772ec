/**
 * @module Decoder tests on hand-built poll buffers (no kernel needed), plus IP formatting.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEvents, type SyscallEvent } from './decode-events.js';
import { EVENT_HEADER_SIZE, EVENT_OFFSETS as O, WEFT_DIR_EGRESS, WEFT_FLAG_IPV6, WEFT_FLAG_MSG_START, WEFT_FLAG_SEQ_VALID, WEFT_KIND_CLOSE, WEFT_KIND_DATA, WEFT_SYS_WRITEV } from './events.gen.js';
import { formatIpv6 } from '../capture/ip-format.js';

function record(fill: (b: Buffer) => void, payload = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(EVENT_HEADER_SIZE + payload.length);
  fill(b);
  payload.copy(b, EVENT_HEADER_SIZE);
  b.writeUInt32LE(payload.length, O.payloadLen);
  return b;
}

function pack(records: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const entry = Buffer.alloc((4 + r.length + 7) & ~7);
    entry.writeUInt32LE(r.length, 0);
    r.copy(entry, 4);
    parts.push(entry);
  }
  return Buffer.concat(parts);
}

describe('decodeEvents', () => {
  it('decodes a data record and a close record, converting ktime to wall clock', () => {
    const data = record((b) => {
      b[O.kind] = WEFT_KIND_DATA;
      b[O.direction] = WEFT_DIR_EGRESS;
      b[O.syscall] = WEFT_SYS_WRITEV;
      b[O.flags] = WEFT_FLAG_MSG_START | WEFT_FLAG_SEQ_VALID;
      b.writeUInt16LE(40000, O.localPort);
      b.writeUInt16LE(80, O.remotePort);
      b.writeUInt32LE(42, O.pid);
      b.writeUInt32LE(43, O.tid);
      b.writeBigUInt64LE(1000n, O.enterNs);
      b.writeBigUInt64LE(2000n, O.exitNs);
      b.writeBigUInt64LE(7n, O.socketId);
      b.writeBigUInt64LE(2n ** 53n - 1n, O.traceId);
      b.writeBigInt64LE(14n, O.bytes);
      b.writeUInt32LE(0xfffffff0, O.tcpSeq);
      b.set([127, 0, 0, 1], O.localAddr);
      b.set([10, 0, 0, 2], O.remoteAddr);
      b.write('nginx', O.comm);
    }, Buffer.from('GET / HTTP/1.1'));
    const close = record((b) => {
      b[O.kind] = WEFT_KIND_CLOSE;
      b.writeUInt32LE(42, O.pid);
      b.writeBigUInt64LE(7n, O.socketId);
      b.writeBigUInt64LE(3000n, O.enterNs);
    });
    const buf = pack([data, close]);
    const [ev, cl] = decodeEvents(buf, buf.length, { offsetNs: 10n ** 18n });
    const e = ev as SyscallEvent;
    expect(e).toMatchObject({ kind: 'data', direction: 'egress', syscall: 'writev', pid: 42, tid: 43, comm: 'nginx', localIp: '127.0.0.1', remoteIp: '10.0.0.2', localPort: 40000, remotePort: 80, totalBytes: 14, tcpSeq: 0xfffffff0, messageStart: true, transport: 'tcp', ipVersion: 4, socketId: 7n, syscallTraceId: 2 ** 53 - 1 });
    expect(e.startUnixNano).toBe(10n ** 18n + 1000n);
    expect(Buffer.from(e.payload).toString()).toBe('GET / HTTP/1.1');
    expect(cl).toEqual({ kind: 'close', socketId: 7n, pid: 42, unixNano: 10n ** 18n + 3000n });
  });

  it('reports v4-mapped IPv6 sockets as IPv4 and real IPv6 as IPv6', () => {
    const mapped = record((b) => {
      b[O.kind] = WEFT_KIND_DATA;
      b[O.flags] = WEFT_FLAG_IPV6;
      b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], O.localAddr);
      b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 2], O.remoteAddr);
    });
    const v6 = record((b) => {
      b[O.kind] = WEFT_KIND_DATA;
      b[O.flags] = WEFT_FLAG_IPV6;
      b[O.localAddr + 15] = 1;
      b.set([0x20, 0x01, 0x0d, 0xb8], O.remoteAddr);
      b[O.remoteAddr + 15] = 5;
    });
    const buf = pack([mapped, v6]);
    const [a, b] = decodeEvents(buf, buf.length, { offsetNs: 0n }) as SyscallEvent[];
    expect(a).toMatchObject({ ipVersion: 4, localIp: '127.0.0.1', remoteIp: '127.0.0.2' });
    expect(b).toMatchObject({ ipVersion: 6, localIp: '::1', remoteIp: '2001:db8::5' });
  });

  it('formats IPv6 like RFC 5952 (checked against URL parsing)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIpv6(bytes, 0);
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const buf = Buffer.from(bytes);
        decodeEvents(buf, buf.length, { offsetNs: 0n });
      }),
    );
  });
});
