/**
 * @module Timing of back-to-back messages (issue 8, A5), on every recorded capture: a span starts
 * at the time of the packet that carried its request's first byte and its response starts at the
 * time of the packet that carried the response's first byte, even when that packet is not the
 * first of its message (pipelined requests and answers, Redis --pipe, pgbench batches). The
 * expected times come straight from the packets, by TCP sequence number.
 *
 * HTTP/2 too: a stream starts at the packet that carried its request HEADERS frame's first byte
 * (a pushed stream at its server's PUSH_PROMISE), its response at the packet of its response
 * HEADERS, and it ends (DeepFlow-style, at its last response event) at the packet that carried
 * the first byte of the frame that closed it: END_STREAM from the server, or RST_STREAM. That
 * frame is found here by walking the captured bytes frame by frame, independently of the parser.
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

/** One direction of a TCP flow as contiguous bytes, from its first captured data byte. */
interface DirectionBytes {
  base: number;
  bytes: Buffer;
}

function directionBytes(segments: readonly Segment[], from: string, payloads: ReadonlyMap<Segment, Uint8Array>): DirectionBytes | null {
  const mine = segments.filter((s) => s.from === from);
  if (mine.length === 0) return null;
  const base = mine[0]!.seq;
  let size = 0;
  for (const s of mine) size = Math.max(size, ((s.seq - base) >>> 0) + payloads.get(s)!.length);
  const bytes = Buffer.alloc(size);
  for (const s of mine) bytes.set(payloads.get(s)!, (s.seq - base) >>> 0);
  return { base, bytes };
}

const RST_STREAM = 0x3;
const END_STREAM = 0x1;

/**
 * The seq of the frame that closes `stream`, walking frames from `seq` (a frame boundary, or an
 * HTTP/1.1 head before the frames of an h2c upgrade). `resetOnly`: only RST_STREAM closes (the
 * client's END_STREAM ends its request, not the exchange).
 */
function closingFrameSeq(d: DirectionBytes, seq: number, stream: number, resetOnly: boolean): number | null {
  let off = (seq - d.base) >>> 0;
  if (d.bytes.toString('latin1', off, off + 5) === 'HTTP/') off = d.bytes.indexOf('\r\n\r\n', off) + 4;
  if (d.bytes.toString('latin1', off, off + 3) === 'PRI') off += 24; // the client preface
  while (off >= 0 && off + 9 <= d.bytes.length) {
    const len = d.bytes.readUIntBE(off, 3);
    const type = d.bytes[off + 3]!;
    const flags = d.bytes[off + 4]!;
    const id = d.bytes.readUInt32BE(off + 5) & 0x7fffffff;
    if (id === stream && (type === RST_STREAM || (!resetOnly && (type === 0x0 || type === 0x1) && (flags & END_STREAM) !== 0))) return (d.base + off) >>> 0;
    off += 9 + len;
  }
  return null;
}

const { folders } = await protocolFolders();
const HTTP2_PROTOCOLS = new Set(['http2', 'grpc']);
const captures = folders.flatMap((f) => {
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
    const payloads = new Map<Segment, Uint8Array>();
    for (const p of readCapturedPackets(file)) {
      const d = decodePacket(p.linkType, p.data);
      if (d?.transport !== 'tcp' || d.wireLength === 0) continue;
      const seg = { from: `${d.srcIp}:${d.srcPort}`, seq: d.seq, len: d.wireLength, unixNano: p.unixNano };
      segments.push(seg);
      payloads.set(seg, d.payload);
    }
    const spans: SpanRecord[] = [];
    await importCapture(file, { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
    let checked = 0;
    for (const s of spans.filter((x) => x.transport === 'tcp')) {
      const client = `${s.clientIp}:${s.clientPort}`;
      const server = `${s.serverIp}:${s.serverPort}`;
      const what = `${s.requestType} ${s.requestResource || s.endpoint}`;
      if (HTTP2_PROTOCOLS.has(s.protocol) && s.requestId !== null) {
        // A pushed stream's request is the server's PUSH_PROMISE.
        const pushed = s.attributes['weft.h2_push'] === true;
        expect(s.startTimeUnixNano, `${what} request`).toBe(packetTime(segments, pushed ? server : client, s.reqTcpSeq));
        checked++;
        if (s.responseStatus === 'timeout') continue;
        const fromServer = s.respTcpSeq !== 0 ? directionBytes(segments, server, payloads) : null;
        let closing = fromServer ? closingFrameSeq(fromServer, s.respTcpSeq, s.requestId, false) : null;
        let closedBy = server;
        if (closing === null && !pushed) {
          const fromClient = directionBytes(segments, client, payloads);
          closing = fromClient ? closingFrameSeq(fromClient, s.reqTcpSeq, s.requestId, true) : null;
          closedBy = client;
        }
        expect(closing, `${what}: no frame closes stream ${s.requestId} in the capture`).not.toBeNull();
        expect(s.endTimeUnixNano, `${what} end`).toBe(packetTime(segments, closedBy, closing!));
        if (s.respTcpSeq !== 0) expect(packetTime(segments, server, s.respTcpSeq), `${what} response`).not.toBeNull();
        checked++;
        continue;
      }
      if (s.reqTcpSeq !== 0) {
        expect(s.startTimeUnixNano, `${what} request`).toBe(packetTime(segments, client, s.reqTcpSeq));
        checked++;
      }
      if (s.respTcpSeq !== 0 && s.responseStatus !== 'timeout') {
        expect(s.endTimeUnixNano, `${what} response`).toBe(packetTime(segments, server, s.respTcpSeq));
        checked++;
      }
    }
    if (spans.some((x) => x.transport === 'tcp')) expect(checked).toBeGreaterThan(0);
  });
});
