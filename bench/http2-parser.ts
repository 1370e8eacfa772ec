/**
 * @module HTTP/2 parser benchmark: MB/s of the HTTP/2 parser (framing, HPACK, per-stream
 * stitching and toSpan, through the ExchangeStream the sessions use) over the recorded gRPC and
 * nghttp golden captures, against copying the same bytes in the same run; and HPACK header
 * fields decoded per second from the header blocks of those captures (a fresh table per
 * connection, as the parser keeps one). Env: WEFT_BENCH_PARSER_SECONDS (3 per measurement).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createExchangeStream } from '../src/agent/protocols/exchange-stream.js';
import { FLAG_PADDED, FLAG_PRIORITY, FRAME_HEADER_BYTES, HEADERS, PREFACE, readFrameHeader } from '../src/agent/protocols/http2/frames.js';
import { decodeBlock, HpackTable } from '../src/agent/protocols/http2/hpack.js';
import { http2Parser } from '../src/agent/protocols/http2/index.js';
import type { Http2Record } from '../src/agent/protocols/http2/stitch.js';
import { readPcapFlows, type Flow } from '../src/agent/protocols/testing/pcap-flows.js';
import { connOf } from '../src/agent/protocols/testing/replay.js';

const TESTDATA = fileURLToPath(new URL('../src/agent/protocols/http2/testdata', import.meta.url));

function seconds(): number {
  return Number(process.env['WEFT_BENCH_PARSER_SECONDS'] ?? 3);
}

function timed(run: () => number): { perSecond: number } {
  const until = performance.now() + seconds() * 1000;
  const start = performance.now();
  let units = 0;
  while (performance.now() < until) units += run();
  return { perSecond: units / ((performance.now() - start) / 1000) };
}

/** Header blocks of one direction of a flow (no CONTINUATION in these captures), in order. */
function headerBlocks(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = bytes.subarray(0, PREFACE.length).equals(PREFACE) ? PREFACE.length : 0;
  while (pos + FRAME_HEADER_BYTES <= bytes.length) {
    const h = readFrameHeader(bytes, pos);
    if (!h) break;
    const end = pos + FRAME_HEADER_BYTES + h.length;
    if (end > bytes.length) break;
    if (h.type === HEADERS) {
      let s = pos + FRAME_HEADER_BYTES;
      let e = end;
      if (h.flags & FLAG_PADDED) e -= bytes[s++]!;
      if (h.flags & FLAG_PRIORITY) s += 5;
      out.push(bytes.subarray(s, e));
    }
    pos = end;
  }
  return out;
}

export interface Http2ParserBenchResult {
  bytesPerReplay: number;
  /** Over the grpc-js capture only (header-heavy). */
  grpcMBps: number;
  parserMBps: number;
  copyMBps: number;
  /** Parser throughput as a fraction of copying the same bytes. */
  ratioToCopy: number;
  hpackHeadersPerSecond: number;
  hpackBlocksPerSecond: number;
}

export async function runHttp2ParserBench(log: (line: string) => void = () => {}): Promise<Http2ParserBenchResult> {
  const flows: Flow[] = readdirSync(TESTDATA)
    .filter((f) => f.endsWith('.pcap') && !f.includes('mid-connection'))
    .flatMap((f) => readPcapFlows(readFileSync(join(TESTDATA, f))));
  const bytesPerReplay = flows.reduce((n, f) => n + f.messages.reduce((m, x) => m + x.bytes.length, 0), 0);
  const replay = (): number => {
    for (const flow of flows) {
      const stream = createExchangeStream<Http2Record>(http2Parser, 'tcp');
      const conn = connOf(flow);
      for (const m of flow.messages) for (const rec of stream.push(m.fromClient ? 'request' : 'response', m.bytes, m.meta, false)) http2Parser.toSpan(rec, conn);
      for (const rec of stream.drain()) http2Parser.toSpan(rec, conn);
    }
    return bytesPerReplay;
  };
  const copy = (): number => {
    for (const flow of flows) for (const m of flow.messages) Buffer.from(m.bytes).readUInt8(0);
    return bytesPerReplay;
  };
  // gRPC alone: small header-heavy frames, the parser's worst case per byte.
  const grpcFlows = readPcapFlows(readFileSync(join(TESTDATA, 'grpc-js-calls.pcap')));
  const grpcBytes = grpcFlows.reduce((n, f) => n + f.messages.reduce((m, x) => m + x.bytes.length, 0), 0);
  const replayGrpc = (): number => {
    for (const flow of grpcFlows) {
      const stream = createExchangeStream<Http2Record>(http2Parser, 'tcp');
      const conn = connOf(flow);
      for (const m of flow.messages) for (const rec of stream.push(m.fromClient ? 'request' : 'response', m.bytes, m.meta, false)) http2Parser.toSpan(rec, conn);
    }
    return grpcBytes;
  };
  replayGrpc();
  const grpcMBps = timed(replayGrpc).perSecond / 1e6;
  log(`HTTP/2 parser on the gRPC capture alone: ${grpcMBps.toFixed(1)} MB/s (${grpcBytes} bytes, 13 calls per replay)`);
  replay();
  const parser = timed(replay).perSecond / 1e6;
  const copied = timed(copy).perSecond / 1e6;
  log(`HTTP/2 parser ${parser.toFixed(1)} MB/s over ${bytesPerReplay} bytes of captures; copying them ${copied.toFixed(0)} MB/s (${((parser / copied) * 100).toFixed(1)}%)`);

  // HPACK alone: each direction's blocks decoded in order against one table.
  const directions = flows.flatMap((f) => [true, false].map((c) => headerBlocks(Buffer.concat(f.messages.filter((m) => m.fromClient === c).map((m) => m.bytes)))));
  let fields = 0;
  let blocks = 0;
  const decode = (): number => {
    for (const dir of directions) {
      const table = new HpackTable(true);
      for (const b of dir) {
        const r = decodeBlock(b, 0, b.length, table);
        if (!('error' in r)) fields += r.names.length + r.unknown;
        blocks++;
      }
    }
    return 1;
  };
  decode();
  fields = 0;
  blocks = 0;
  const start = performance.now();
  const until = start + seconds() * 1000;
  while (performance.now() < until) decode();
  const elapsed = (performance.now() - start) / 1000;
  const headersPerSecond = fields / elapsed;
  log(`HPACK ${(headersPerSecond / 1e6).toFixed(2)} M header fields/s (${(blocks / elapsed / 1e3).toFixed(0)} k blocks/s)`);
  return { bytesPerReplay, grpcMBps, parserMBps: parser, copyMBps: copied, ratioToCopy: parser / copied, hpackHeadersPerSecond: headersPerSecond, hpackBlocksPerSecond: blocks / elapsed };
}
