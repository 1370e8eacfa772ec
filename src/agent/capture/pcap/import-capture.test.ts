/**
 * @module Capture files → NET spans, on real captures: every parser golden pcap (classic pcap,
 * recorded from real clients and servers) gives the golden's L7 facts through the session table;
 * a pcapng from dumpcap (IPv4 and IPv6, if_name, ns stamps) works; reordered, duplicated and
 * lost segments are reassembled or counted; hostile bytes only ever give TRC_PCAP_MALFORMED.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../model/index.js';
import { TracingError } from '../../../model/index.js';
import { readCapturedPackets } from './capture-file.js';
import type { CapturedPacket } from './capture-file.js';
import { importCapture } from './import-capture.js';
import type { CaptureImportOptions, CaptureImportResult } from './import-capture.js';
import { writePcap } from '../../protocols/testing/write-pcap.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROTOCOLS = join(HERE, '../../protocols');

async function run(file: Buffer, over: Partial<CaptureImportOptions> = {}): Promise<{ spans: SpanRecord[]; result: CaptureImportResult }> {
  const spans: SpanRecord[] = [];
  const result = await importCapture(file, { observationPoint: 'c', hostId: 'capture-host', interfaceName: 'lo', onSpans: (s) => void spans.push(...s), ...over });
  return { spans, result };
}

/** What a span says about its exchange, without ids and times. */
const facts = (s: Pick<SpanRecord, 'protocol' | 'requestType' | 'requestResource' | 'responseCode' | 'responseStatus' | 'traceId' | 'xRequestIdReq'>): string =>
  JSON.stringify([s.protocol, s.requestType, s.requestResource, s.responseCode, s.responseStatus, s.traceId, s.xRequestIdReq]);

describe('importCapture', () => {
  const goldenCases = readdirSync(PROTOCOLS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => {
      const dir = join(PROTOCOLS, d.name, 'testdata');
      try {
        return readdirSync(dir).filter((f) => f.endsWith('.pcap')).map((f) => join(dir, f));
      } catch {
        return [];
      }
    });

  it('gives the parser goldens\' exchanges as NET spans at c, for every recorded capture', async () => {
    expect(goldenCases.length).toBeGreaterThanOrEqual(15);
    for (const path of goldenCases) {
      const golden = JSON.parse(readFileSync(path.replace(/\.pcap$/, '.golden.json'), 'utf8')) as SpanRecord[];
      const { spans, result } = await run(readFileSync(path));
      expect(spans.map(facts).sort(), path).toEqual(golden.map(facts).sort());
      expect(result.gapBytes, path).toBe(0);
      for (const s of spans) {
        expect(s).toMatchObject({ source: 'net', origin: 'pcap', observationPoint: 'c', hostId: 'capture-host', interfaceName: 'lo' });
        expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
        // TCP spans carry the message's first sequence number, as the golden (and eBPF) do.
        if (s.transport === 'tcp') expect(golden.map((g) => g.reqTcpSeq)).toContain(s.reqTcpSeq);
      }
    }
  });

  it('reads pcapng from dumpcap: IPv4 and IPv6, the interface name and nanosecond stamps', async () => {
    const file = readFileSync(join(HERE, 'testdata/curl-http-server-v4-v6.pcapng'));
    const packets = [...readCapturedPackets(file)];
    expect(packets[0]).toMatchObject({ interfaceName: 'lo', linkType: 1, unixNano: 1796132638049594084n });
    const { spans } = await run(file, { interfaceName: 'ignored-when-the-file-names-it' });
    expect(spans.map((s) => [s.ipVersion, s.clientIp, s.serverIp, s.serverPort, s.requestResource, s.responseCode, s.interfaceName]).sort()).toEqual([
      [4, '127.0.0.1', '127.0.0.1', 18799, '/', 200, 'lo'],
      [6, '::1', '::1', 18799, '/missing?x=1', 404, 'lo'],
    ]);
    expect(spans.find((s) => s.ipVersion === 4)?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('stamps the capture point given (s: the server\'s NIC), with the same exchanges', async () => {
    const file = readFileSync(join(PROTOCOLS, 'http1/testdata/curl-keepalive.pcap'));
    const c = await run(file);
    const s = await run(file, { observationPoint: 's' });
    expect(s.spans.map((x) => x.observationPoint)).toEqual(c.spans.map(() => 's'));
    expect(s.spans.map(facts)).toEqual(c.spans.map(facts));
    expect(s.spans.map((x) => x.reqTcpSeq)).toEqual(c.spans.map((x) => x.reqTcpSeq));
    expect(s.spans.map((x) => [x.clientPort, x.serverPort])).toEqual(c.spans.map((x) => [x.clientPort, x.serverPort]));
  });

  it('tells client from server on a flow caught mid-stream (no handshake), whatever the ports', async () => {
    const file = readFileSync(join(PROTOCOLS, 'redis/testdata/cli-commands.pcap'));
    const packets = [...readCapturedPackets(file)];
    const whole = await run(file);
    // Drop the handshake: the flow then starts with the client's first command.
    const midStream = await run(writePcap(packets.slice(3)));
    expect(midStream.spans.map(facts)).toEqual(whole.spans.map(facts));
    expect(midStream.spans.every((x) => x.serverPort === 16737 && x.observationPoint === 'c')).toBe(true);
  });

  it('reassembles reordered and retransmitted segments, and counts a lost one', async () => {
    const file = readFileSync(join(PROTOCOLS, 'http1/testdata/pipelined.pcap'));
    const packets = [...readCapturedPackets(file)];
    const base = await run(file);
    // Packets 16 and 18 (1-based) carry the pipelined requests: deliver 18 first, then 16 twice.
    const shuffled = [...packets];
    [shuffled[15], shuffled[17]] = [shuffled[17] as CapturedPacket, shuffled[15] as CapturedPacket];
    shuffled.splice(18, 0, packets[15] as CapturedPacket);
    const re = await run(writePcap(shuffled));
    expect(re.spans.map(facts)).toEqual(base.spans.map(facts));
    expect(re.result.retransmittedBytes).toBeGreaterThan(0);
    expect(re.result.gapBytes).toBe(0);
    // Without packet 16 its bytes are a gap: counted, and the other exchanges still come out.
    const lost = await run(writePcap(packets.filter((_, i) => i !== 15)));
    expect(lost.result.gapBytes).toBe((packets[15] as CapturedPacket).data.length - 66);
    expect(lost.spans.map((s) => s.requestResource)).toContain('/a.txt');
  });

  it('follows sequence numbers by wire length when a snap length cut the frames (tcpdump -s, tc)', async () => {
    const file = readFileSync(join(PROTOCOLS, 'http1/testdata/curl-keepalive.pcap'));
    const whole = await run(file);
    // 14 (Ethernet) + 20 (IP) + 32 (TCP with timestamps) + 60 bytes of payload at most.
    const cut = await run(writePcap([...readCapturedPackets(file)].map((p) => ({ ...p, data: p.data.subarray(0, 126) }))));
    expect(cut.result.gapBytes).toBe(0);
    expect(cut.spans.map((s) => [s.requestType, s.responseCode, s.responseStatus, s.reqTcpSeq, s.respTcpSeq])).toEqual(
      whole.spans.map((s) => [s.requestType, s.responseCode, s.responseStatus, s.reqTcpSeq, s.respTcpSeq]),
    );
  });

  it('meets hostile bytes with spans or TRC_PCAP_MALFORMED, never another error', async () => {
    const real = readFileSync(join(PROTOCOLS, 'redis/testdata/pipe.pcap'));
    const realNg = readFileSync(join(HERE, 'testdata/curl-http-server-v4-v6.pcapng'));
    const mutate = (src: Buffer) =>
      fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat()).map(([edits, cut]) => {
        const b = Buffer.from(src);
        for (const [at, v] of edits) b[at % b.length] = v;
        return b.subarray(0, b.length - (cut % 3 === 0 ? cut % b.length : 0));
      });
    const header = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)),
      fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.concat([header, Buffer.from(u)])),
      mutate(real),
      mutate(realNg),
    );
    await fc.assert(
      fc.asyncProperty(hostile, async (b) => {
        try {
          await run(b);
        } catch (err) {
          expect(err).toBeInstanceOf(TracingError);
          expect((err as TracingError).code).toBe('TRC_PCAP_MALFORMED');
        }
      }),
      { numRuns: 400 },
    );
  });
});
