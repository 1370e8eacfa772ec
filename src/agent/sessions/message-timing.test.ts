/**
 * @module Timing of back-to-back messages (issue 8, A5), on every recorded capture: a span starts
 * at the time of the packet that carried its request's first byte and its response starts at the
 * time of the packet that carried the response's first byte, even when that packet is not the
 * first of its message (pipelined requests and answers, Redis --pipe, pgbench batches). The
 * expected times come straight from the packets, by TCP sequence number.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../model/index.js';
import { readCapturedPackets } from '../capture/pcap/capture-file.js';
import { importCapture } from '../capture/pcap/import-capture.js';
import { decodePacket } from '../capture/pcap/packet-decode.js';
import { protocolFolders } from '../protocols/testing/protocol-folders.js';

interface Segment {
  from: string;
  seq: number;
  len: number;
  unixNano: bigint;
}

/** Time of the first packet from `from` whose payload holds sequence number `seq`. */
function packetTime(segments: readonly Segment[], from: string, seq: number): bigint | null {
  for (const s of segments) if (s.from === from && ((seq - s.seq) >>> 0) < s.len) return s.unixNano;
  return null;
}

const { folders } = await protocolFolders();
// HTTP/2 interleaves streams' frames inside messages and sets its own per-stream seq and time
// (issue 10's parser, its own tests); this checks the protocols whose frames follow each other.
const SEPARATELY_CHECKED = new Set(['http2']);
const captures = folders.filter((f) => !SEPARATELY_CHECKED.has(f.parser.name)).flatMap((f) => {
  try {
    return readdirSync(f.testdata).filter((x) => x.endsWith('.pcap')).map((x) => join(f.testdata, x));
  } catch {
    return [];
  }
});

describe('each message starts at its first byte\'s packet', () => {
  it.each(captures.map((c) => [c.split('/').slice(-3).join('/'), c]))('%s', async (_name, path) => {
    const file = readFileSync(path);
    const segments: Segment[] = [];
    for (const p of readCapturedPackets(file)) {
      const d = decodePacket(p.linkType, p.data);
      if (d?.transport === 'tcp' && d.wireLength > 0) segments.push({ from: `${d.srcIp}:${d.srcPort}`, seq: d.seq, len: d.wireLength, unixNano: p.unixNano });
    }
    const spans: SpanRecord[] = [];
    await importCapture(file, { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
    let checked = 0;
    for (const s of spans.filter((x) => x.transport === 'tcp')) {
      const client = `${s.clientIp}:${s.clientPort}`;
      const server = `${s.serverIp}:${s.serverPort}`;
      if (s.reqTcpSeq !== 0) {
        expect(s.startTimeUnixNano, `${s.requestType} ${s.requestResource} request`).toBe(packetTime(segments, client, s.reqTcpSeq));
        checked++;
      }
      if (s.respTcpSeq !== 0 && s.responseStatus !== 'timeout') {
        expect(s.endTimeUnixNano, `${s.requestType} ${s.requestResource} response`).toBe(packetTime(segments, server, s.respTcpSeq));
        checked++;
      }
    }
    if (spans.some((x) => x.transport === 'tcp')) expect(checked).toBeGreaterThan(0);
  });
});
