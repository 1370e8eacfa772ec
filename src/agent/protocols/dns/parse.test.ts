/** @module DNS detection and framing cases beyond the recorded goldens. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPcapFlows } from '../testing/pcap-flows.js';
import { detectDns, parseDns } from './parse.js';

const capture = (name: string) => readPcapFlows(readFileSync(fileURLToPath(new URL(`./testdata/${name}.pcap`, import.meta.url))));

describe('DNS', () => {
  it("recognises dig's queries on any port, over UDP and TCP", () => {
    for (const name of ['dig-udp', 'dig-tcp']) {
      for (const flow of capture(name)) {
        const q = flow.messages.find((m) => m.fromClient)!;
        expect(detectDns(q.bytes, 'request')).toBe('yes');
        const a = flow.messages.find((m) => !m.fromClient)!;
        expect(detectDns(a.bytes, 'response')).toBe('maybe');
        expect(detectDns(a.bytes, 'request')).toBe('no');
      }
    }
  });

  it('follows compression pointers but not loops', () => {
    // Header (id 1, response, 1 question) + a question name that points at itself.
    const loop = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(parseDns(loop, 'response', { tcp: false }).kind).toBe('invalid');
  });

  it('needs more until a TCP message is whole', () => {
    const q = capture('dig-tcp')[0]!.messages[0]!.bytes;
    expect(parseDns(q.subarray(0, 10), 'request', { tcp: true })).toEqual({ kind: 'needMore' });
    expect(parseDns(q, 'request', { tcp: true })).toMatchObject({ kind: 'frame', consumed: q.length });
  });
});
