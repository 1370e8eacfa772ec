/**
 * @module MySQL fidelity on real traffic (issue 8, A3), from the recorded captures in testdata
 * (scripts/record-goldens.sh) and, for MySQL 8 query attributes (which MariaDB does not speak),
 * from the packets the real mysql2 client encodes.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../model/index.js';
import { readCapturedPackets } from '../../capture/pcap/capture-file.js';
import type { CapturedPacket } from '../../capture/pcap/capture-file.js';
import { decodePacket } from '../../capture/pcap/packet-decode.js';
import { importCapture } from '../../capture/pcap/import-capture.js';
import { createPacketFlows } from '../../capture/pcap/packet-flows.js';
import { l7ProtocolOf } from '../../sessions/protocol-adapter.js';
import { createSessionTable, DEFAULT_SESSION_OPTIONS } from '../../sessions/session-table.js';
import { PROTOCOL_PARSERS } from '../registry.js';
import { readPcapFlows } from '../testing/pcap-flows.js';
import { replayFlows } from '../testing/replay.js';
import { mysqlParser } from './index.js';
import { newMysqlState, parseMysql, type MysqlCommandFrame, type MysqlResponseFrame } from './parse.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const capture = (name: string): Buffer => readFileSync(join(HERE, 'testdata', `${name}.pcap`));
const replay = (name: string): SpanRecord[] => replayFlows(mysqlParser, readPcapFlows(capture(name))).spans;
const summary = (spans: SpanRecord[]): string[] => spans.map((s) => `${s.requestType} ${s.responseStatus}${s.responseCode === null ? '' : ` ${s.responseCode}`}`);

/** A classic pcap of `packets` (µs stamps), as tcpdump writes it. */
function writePcap(packets: readonly CapturedPacket[]): Buffer {
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

describe('MySQL on recorded traffic', () => {
  it('COM_FIELD_LIST: its multi-packet answer ends at its EOF; the next exchanges keep their answers', async () => {
    // Through the session table with its idle sweep running between packets, as the live agent
    // runs it: an answer that went idle (the user typed the next statement a second later) does
    // not end its frame, so a mis-framed FIELD_LIST answer would swallow the next answer.
    const table = createSessionTable({ ...DEFAULT_SESSION_OPTIONS, hostId: 'h', protocols: PROTOCOL_PARSERS.map(l7ProtocolOf), source: 'net', origin: 'pcap', newSpanId: () => '0000000000000001', fixedObservationPoint: 'c' });
    const flows = createPacketFlows();
    const spans: SpanRecord[] = [];
    let last = 0n;
    for (const pkt of readCapturedPackets(capture('cli-field-list'))) {
      spans.push(...table.sweep(pkt.unixNano - 1n));
      const d = decodePacket(pkt.linkType, pkt.data);
      if (d) spans.push(...table.push(flows.push(d, pkt.unixNano, 'lo')));
      last = pkt.unixNano;
    }
    spans.push(...table.push(flows.end(last)), ...table.flush());
    expect(spans.filter((s) => s.responseStatus === 'timeout')).toEqual([]);
    expect(summary(spans)).toContain('FIELD_LIST ok');
    // The answer is framed by itself, without waiting for more bytes: while the client has not
    // sent its next command (an idle answer), the frame must already be complete.
    const flow = readPcapFlows(capture('cli-field-list'))[0]!;
    const state = newMysqlState();
    let answer: ReturnType<typeof parseMysql> | null = null;
    for (const [i, m] of flow.messages.entries()) {
      parseMysql(m.bytes, m.fromClient ? 'request' : 'response', state, false);
      if (m.fromClient && m.bytes[4] === 0x04) {
        answer = parseMysql(flow.messages[i + 1]!.bytes, 'response', state, false);
        break;
      }
    }
    expect(answer?.kind).toBe('frame');
    const create = spans.find((s) => s.requestType === 'CREATE');
    expect(create?.responseStatus).toBe('ok');
    expect(spans.find((s) => s.requestResource === 'SELECT COUNT(*) FROM orders')?.attributes['db.response.returned_rows']).toBe(1);
  });

  it('COM_FIELD_LIST, the original symptom: an idle FIELD_LIST answer does not swallow the next exchange (import-pcap path)', async () => {
    // `use shop` in mariadb --auto-rehash: the completion rebuild ends with a FIELD_LIST answer
    // that sits idle at the prompt (two columns, so read as a result set it ends nowhere). Read
    // as a result set, it waited for more, took CREATE TABLE's OK in, and left CREATE TABLE and
    // QUIT as timeouts (checked against the parser without the FIELD_LIST framing).
    const spans: SpanRecord[] = [];
    const result = await importCapture(capture('cli-use-rehash'), { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
    expect(result.undetectedMessages).toBe(0);
    expect(summary(spans)).toEqual(['LOGIN ok', 'SELECT ok', 'SELECT ok', 'INIT_DB ok', 'SHOW ok', 'SHOW ok', 'FIELD_LIST ok', 'FIELD_LIST ok', 'CREATE ok']);
    expect(spans.filter((s) => s.requestType === 'FIELD_LIST').map((s) => s.attributes['db.response.returned_rows'])).toEqual([2, 2]);
    expect(spans.find((s) => s.requestType === 'CREATE')?.requestResource).toMatch(/^CREATE TABLE IF NOT EXISTS notes/);
  });

  it('logins: a span for each handshake, with the failures (access denied, too many connections)', () => {
    const spans = replay('logins').filter((s) => s.requestType === 'LOGIN');
    expect(summary(spans)).toEqual(['LOGIN server_error 1045', 'LOGIN server_error 1040', 'LOGIN ok']);
    expect(spans[0]?.responseException).toMatch(/Access denied for user 'weft'/);
    expect(spans[0]?.attributes['db.user']).toBe('weft');
    expect(spans[1]?.responseException).toBe('Too many connections');
    expect(spans[2]?.requestDomain).toBe('shop');
  });

  it('a refused connection (one ERR, nothing else) is detected and leaves its LOGIN span through the session table', async () => {
    const spans: SpanRecord[] = [];
    await importCapture(capture('logins'), { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
    expect(spans.filter((s) => s.requestType === 'LOGIN').map((s) => s.responseCode)).toEqual([1045, 1040, null]);
  });

  it('the compressed protocol: SQL and results read through the zlib frames, and marked', () => {
    const spans = replay('cli-compressed');
    expect(summary(spans)).toEqual(['LOGIN ok', 'SELECT ok', 'SELECT ok', 'UPDATE ok']);
    const big = spans.find((s) => s.requestResource.startsWith('SELECT REPEAT'));
    expect(big?.attributes['weft.mysql.compressed']).toBe(true);
    expect(big?.attributes['db.response.returned_rows']).toBe(1);
  });

  it('mid-connection on a non-standard port, starting with COM_PINGs: every exchange is found', async () => {
    const file = capture('mysql2-pings');
    const packets = [...readCapturedPackets(file)];
    // Drop everything before the first COM_PING: the capture starts mid-connection.
    const firstPing = packets.findIndex((p) => decodePacket(p.linkType, p.data)?.payload.equals(Buffer.from([1, 0, 0, 0, 0x0e])));
    expect(firstPing).toBeGreaterThan(0);
    const spans: SpanRecord[] = [];
    const result = await importCapture(writePcap(packets.slice(firstPing)), { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
    expect(result.undetectedMessages).toBe(0);
    expect(spans.filter((s) => s.requestType === 'PING')).toHaveLength(6);
    expect(spans.filter((s) => /^(SELECT|INSERT|UPDATE|DELETE)$/.test(s.requestType))).toHaveLength(13);
    expect(spans.every((s) => s.responseStatus === 'ok' && s.serverPort === 13737)).toBe(true);
  });
});

describe('MySQL 8 query attributes (CLIENT_QUERY_ATTRIBUTES), as mysql2 encodes them', () => {
  // mysql2's package exports hide lib/; load its files by path (the same code the client runs).
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve('mysql2')), 'lib');
  const { CLIENT_QUERY_ATTRIBUTES } = require(join(lib, 'constants/client.js')) as { CLIENT_QUERY_ATTRIBUTES: number };
  const Query = require(join(lib, 'packets/query.js')) as new (sql: string, charset: number, attrs: Record<string, unknown> | undefined, flags: number) => {
    toPacket(): { writeHeader(seq: number): void; buffer: Buffer };
  };
  const encode = (sql: string, attrs?: Record<string, unknown>): Buffer => {
    const p = new Query(sql, 45, attrs, CLIENT_QUERY_ATTRIBUTES).toPacket();
    p.writeHeader(0);
    return p.buffer;
  };
  const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('keeps the SQL clean and decodes the parameter count and set, mid-connection too', () => {
    for (const [bytes, attrs] of [
      [encode('SELECT 1'), null],
      [encode('SELECT * FROM items WHERE id = 7', { traceparent: TP, retries: 3, note: null }), { traceparent: TP, retries: '3', note: null }],
    ] as const) {
      // No handshake seen: detection and parsing recognise the attribute block by itself.
      expect(mysqlParser.detect(bytes, 'request')).toBe('yes');
      const r = parseMysql(bytes, 'request', newMysqlState());
      if (r.kind !== 'frame') throw new Error(`not a frame: ${JSON.stringify(r)}`);
      const f = r.frame as MysqlCommandFrame;
      expect(f.sql).toMatch(/^SELECT /);
      expect(f.attributes).toEqual(attrs);
      expect(r.consumed).toBe(bytes.length);
    }
  });

  it('puts the attributes on the span, and a traceparent attribute links the trace', () => {
    const state = newMysqlState();
    const req = parseMysql(encode('SELECT 2', { traceparent: TP }), 'request', state);
    const ok = Buffer.from([7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
    const resp = parseMysql(ok, 'response', state);
    if (req.kind !== 'frame' || resp.kind !== 'frame') throw new Error('not frames');
    const meta = { startUnixNano: 1n, endUnixNano: 2n, tcpSeq: 0, syscallTraceId: 0, tid: 0 };
    const conn = { source: 'net', origin: 'pcap', observationPoint: 'c', ipVersion: 4, transport: 'tcp', clientIp: '', clientPort: 0, serverIp: '', serverPort: 0, processId: 0, processName: '', hostId: '', interfaceName: '' } as const;
    const span = mysqlParser.toSpan({ request: { frame: req.frame as MysqlCommandFrame, meta }, response: { frame: resp.frame as MysqlResponseFrame, meta } }, conn);
    expect(span.requestResource).toBe('SELECT 2');
    expect(span.attributes['db.mysql.query_attribute.traceparent']).toBe(TP);
    expect(span.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
});
