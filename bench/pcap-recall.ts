/**
 * @module Recall of `weft import-pcap` against tshark on every capture in the repo's testdata:
 * for each protocol, how many of the exchanges (requests a server answers, logins included) the
 * reference dissector finds in a capture does Weft find as spans of that protocol.
 *
 * Both sides read the same file. tshark is told the server port of each flow (`-d`, where the
 * flow's first packet went: the client's SYN, or its request in a capture joined mid-connection),
 * and its requests are counted per client port; Weft's spans are counted per client port
 * the same way, and a flow's found exchanges are at most the reference's (recall, not precision:
 * spans Weft finds beyond the reference, such as MySQL LOGIN spans tshark has no request for,
 * are reported separately as `extra`).
 *
 * What counts as one exchange in tshark's output, per protocol:
 * - HTTP/1: an `http.request`; HTTP/2: a HEADERS frame's `:method`.
 * - Redis: a RESP array the client sends (tshark does not dissect inline commands).
 * - MySQL: a `mysql.command` other than QUIT, STMT_CLOSE and SEND_LONG_DATA (no answer), plus a
 *   login request (`mysql.user`).
 * - PostgreSQL: a Simple query or a Sync (what the backend answers with ReadyForQuery).
 * - DNS: a query (`dns.flags.response == 0`).
 * - Memcached: a text command other than `quit`, or a binary request opcode.
 *
 * Run: `node --import tsx bench/pcap-recall.ts` (JSON on stdout, a table on stderr).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readCapturedPackets } from '../src/agent/capture/pcap/capture-file.js';
import { importCapture } from '../src/agent/capture/pcap/import-capture.js';
import { decodePacket } from '../src/agent/capture/pcap/packet-decode.js';
import type { SpanRecord } from '../src/model/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Reference {
  /** tshark's dissector for `-d`. */
  dissector: string;
  /** Span protocols that count as finding this protocol's exchange. */
  weft: readonly string[];
  /** tshark display filter and fields: first the client-port fields, then the counted field. */
  filter: string;
  fields: readonly string[];
  /** How many exchanges one output line holds (the counted field's occurrences, filtered). */
  count(values: string[]): number;
}

const occurrences = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : v.split(','));

const REFERENCES: Record<string, Reference> = {
  http1: { dissector: 'http', weft: ['http'], filter: 'http.request', fields: ['http.request.method'], count: ([m]) => occurrences(m).length },
  http2: { dissector: 'http2', weft: ['http2', 'grpc', 'http'], filter: 'http2.headers.method', fields: ['http2.headers.method'], count: ([m]) => occurrences(m).length },
  redis: { dissector: 'resp', weft: ['redis'], filter: 'resp.array.length', fields: ['resp.array.length'], count: ([a]) => occurrences(a).length },
  mysql: {
    dissector: 'mysql',
    weft: ['mysql'],
    filter: 'mysql.command || mysql.user',
    fields: ['mysql.command', 'mysql.user'],
    count: ([cmd, user]) => occurrences(cmd).filter((c) => !['1', '24', '25'].includes(c)).length + occurrences(user).length,
  },
  postgres: { dissector: 'pgsql', weft: ['postgresql'], filter: 'pgsql.type', fields: ['pgsql.type'], count: ([t]) => occurrences(t).filter((x) => x === 'Simple query' || x === 'Sync').length },
  dns: { dissector: 'dns', weft: ['dns'], filter: 'dns.flags.response == 0', fields: ['dns.id'], count: ([id]) => occurrences(id).length },
  memcached: {
    dissector: 'memcache',
    weft: ['memcached'],
    filter: 'memcache.command || memcache.magic == 0x80',
    fields: ['memcache.command', 'memcache.opcode'],
    count: ([cmd, op]) => occurrences(cmd).filter((c) => c !== 'quit').length + occurrences(op).length,
  },
};

/** The captures: every protocol folder's testdata, plus the capture reader's (by its protocol). */
function captures(): { file: string; protocol: string }[] {
  const out: { file: string; protocol: string }[] = [];
  const protocols = join(ROOT, 'src/agent/protocols');
  for (const folder of readdirSync(protocols)) {
    const dir = join(protocols, folder, 'testdata');
    if (!REFERENCES[folder] || !existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (/\.pcap(ng)?$/.test(f)) out.push({ file: join(dir, f), protocol: folder });
  }
  const reader = join(ROOT, 'src/agent/capture/pcap/testdata');
  // The USER0 copy has a link type neither side decodes: nothing to compare.
  out.push({ file: join(reader, 'curl-http-server-v4-v6.pcapng'), protocol: 'http1' }, { file: join(reader, 'redis-cli-modpcap.pcap'), protocol: 'redis' });
  return out;
}

/** A flow's ports, either way round. */
const flowKey = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`);

interface FlowPorts {
  /** Server ports, per transport, for tshark's `-d`. */
  tcp: Set<number>;
  udp: Set<number>;
  /** Flow (flowKey) → its server port. */
  server: Map<string, number>;
}

/**
 * Each flow's server port: where its first packet went (the client's SYN, or, in a capture
 * joined mid-connection, the client's request). Not "the lower port": a client's ephemeral
 * port can be lower than a server's (DeepFlow's captures: 20871 → 30130).
 */
function serverPorts(file: Buffer): FlowPorts {
  const ports: FlowPorts = { tcp: new Set(), udp: new Set(), server: new Map() };
  for (const p of readCapturedPackets(file, () => undefined)) {
    const d = decodePacket(p.linkType, p.data);
    if (!d) continue;
    const key = flowKey(d.srcPort, d.dstPort);
    if (ports.server.has(key)) continue;
    ports.server.set(key, d.dstPort);
    (d.transport === 'tcp' ? ports.tcp : ports.udp).add(d.dstPort);
  }
  return ports;
}

function tsharkCounts(path: string, ref: Reference, ports: FlowPorts): Map<number, number> {
  const decodeAs = [...[...ports.tcp].flatMap((p) => ['-d', `tcp.port==${p},${ref.dissector}`]), ...(ref.dissector === 'dns' ? [...ports.udp].flatMap((p) => ['-d', `udp.port==${p},dns`]) : [])];
  const out = execFileSync('tshark', ['-r', path, '-n', ...decodeAs, '-Y', ref.filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'udp.srcport', '-e', 'udp.dstport', ...ref.fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 << 20,
  });
  const byClient = new Map<number, number>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [ts, td, us, ud, ...values] = line.split('\t');
    const src = Number(ts || us);
    const dst = Number(td || ud);
    // Requests go from the client to the flow's server port.
    if (ports.server.get(flowKey(src, dst)) !== dst) continue;
    const n = ref.count(values);
    if (n > 0) byClient.set(src, (byClient.get(src) ?? 0) + n);
  }
  return byClient;
}

export interface RecallRow {
  protocol: string;
  captures: number;
  /** Exchanges tshark finds. */
  reference: number;
  /** Of those, how many Weft finds (per flow, at most the reference's count). */
  found: number;
  recall: number;
  /** Spans of the protocol beyond the reference's count (e.g. MySQL LOGIN, timeouts of unanswered requests). */
  extra: number;
}

export interface PcapRecallResult {
  rows: RecallRow[];
  total: { reference: number; found: number; recall: number };
  perCapture: { capture: string; protocol: string; reference: number; found: number }[];
}

export async function runPcapRecallBench(log: (line: string) => void = () => undefined): Promise<PcapRecallResult> {
  const rows = new Map<string, RecallRow>();
  const perCapture: PcapRecallResult['perCapture'] = [];
  for (const { file, protocol } of captures()) {
    const ref = REFERENCES[protocol]!;
    const bytes = readFileSync(file);
    const reference = tsharkCounts(file, ref, serverPorts(bytes));
    const spans: SpanRecord[] = [];
    await importCapture(bytes, { observationPoint: 'c', hostId: 'bench', onSpans: (s) => void spans.push(...s) });
    const ours = new Map<number, number>();
    for (const s of spans) if (ref.weft.includes(s.protocol)) ours.set(s.clientPort, (ours.get(s.clientPort) ?? 0) + 1);
    let refN = 0;
    let found = 0;
    let extra = 0;
    for (const [client, n] of reference) {
      refN += n;
      found += Math.min(n, ours.get(client) ?? 0);
    }
    for (const [client, n] of ours) extra += Math.max(0, n - (reference.get(client) ?? 0));
    const row = rows.get(protocol) ?? { protocol, captures: 0, reference: 0, found: 0, recall: 0, extra: 0 };
    row.captures++;
    row.reference += refN;
    row.found += found;
    row.extra += extra;
    rows.set(protocol, row);
    perCapture.push({ capture: relative(ROOT, file), protocol, reference: refN, found });
    log(`${relative(ROOT, file)}: tshark ${refN}, weft ${found} of them (+${extra})`);
  }
  const list = [...rows.values()].map((r) => ({ ...r, recall: r.reference === 0 ? 1 : r.found / r.reference }));
  const reference = list.reduce((a, r) => a + r.reference, 0);
  const found = list.reduce((a, r) => a + r.found, 0);
  for (const r of list) log(`${r.protocol}: recall ${(r.recall * 100).toFixed(1)}% (${r.found}/${r.reference} over ${r.captures} captures; ${r.extra} extra spans)`);
  log(`all: recall ${((found / reference) * 100).toFixed(1)}% (${found}/${reference})`);
  return { rows: list, total: { reference, found, recall: reference === 0 ? 1 : found / reference }, perCapture };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runPcapRecallBench((line) => void process.stderr.write(`[pcap-recall] ${line}\n`));
  process.stdout.write(`${JSON.stringify({ suite: 'pcap-recall', result })}\n`);
}
