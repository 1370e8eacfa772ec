/**
 * @module Test fixture writer: packets → a classic pcap (microsecond stamps), as tcpdump writes
 * it. Tests use it to cut a real capture (drop its handshake to start mid-connection) or to
 * damage one, and feed the result to the same reader and import the CLI uses.
 */
import { readCapturedPackets, type CapturedPacket } from '../../capture/pcap/capture-file.js';
import { decodePacket } from '../../capture/pcap/packet-decode.js';

export function writePcap(packets: readonly CapturedPacket[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(packets[0]?.linkType ?? 1, 20);
  const parts: Buffer[] = [head];
  for (const p of packets) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Number(p.unixNano / 1_000_000_000n), 0);
    rec.writeUInt32LE(Number((p.unixNano % 1_000_000_000n) / 1000n), 4);
    rec.writeUInt32LE(p.data.length, 8);
    rec.writeUInt32LE(p.data.length, 12);
    parts.push(rec, p.data);
  }
  return Buffer.concat(parts);
}

/**
 * The capture from the first packet whose TCP/UDP payload `starts` accepts: as if tcpdump had
 * been started mid-connection. Throws when no packet matches (the fixture is not what the test
 * thinks it is).
 */
export function captureFrom(file: Buffer, starts: (payload: Buffer) => boolean): Buffer {
  const packets = [...readCapturedPackets(file)];
  const first = packets.findIndex((p) => {
    const d = decodePacket(p.linkType, p.data);
    return d !== null && d.payload.length > 0 && starts(d.payload);
  });
  if (first < 0) throw new Error('no packet of the capture starts the cut');
  return writePcap(packets.slice(first));
}
