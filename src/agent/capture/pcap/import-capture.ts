/**
 * @module A capture file → NET spans: packets are decoded, put back into flows and fed to the
 * same session table and L7 parsers the eBPF agent uses (source `net`, origin `pcap`). Time is
 * the capture's: message completion and request timeouts run on packet timestamps, so a file
 * replays the same whenever it is imported.
 */
import type { ObservationPoint, SpanRecord } from '../../../model/index.js';
import { PROTOCOL_PARSERS } from '../../protocols/registry.js';
import { l7ProtocolOf } from '../../sessions/protocol-adapter.js';
import { createSessionTable, DEFAULT_SESSION_OPTIONS } from '../../sessions/session-table.js';
import { spanIdGenerator } from '../../spans/span-ids.js';
import { TracingError } from '../../../model/index.js';
import { readCapturedPackets } from './capture-file.js';
import type { CaptureProblem } from './capture-file.js';
import { decodePacket, decodesLinkType, linkTypeName } from './packet-decode.js';
import { createPacketFlows } from './packet-flows.js';

/** Where on the path the capture was taken (DESIGN.md: the NET observation points). */
export type NetObservationPoint = Extract<ObservationPoint, 'c' | 's' | 'c-nd' | 's-nd' | 'c-gw' | 's-gw' | 'local' | 'rest'>;

export interface CaptureImportOptions {
  /** The capture point's observation point, on every span: `c` the client's NIC, `s` the server's, … */
  observationPoint: NetObservationPoint;
  /** Written to every span's hostId (where the capture was taken). */
  hostId: string;
  /** Interface name for packets whose file does not record one (classic pcap); default ''. */
  interfaceName?: string;
  /** Receives spans as they complete, in batches. */
  onSpans: (spans: SpanRecord[]) => void | Promise<void>;
  /** Called every `progressEvery` packets (default 100,000). */
  onProgress?: (packets: number) => void;
  progressEvery?: number;
  newSpanId?: () => string;
}

export interface CaptureImportResult {
  packets: number;
  /** Packets that were not IPv4/IPv6 TCP or UDP (or were fragments or truncated). */
  skippedPackets: number;
  flows: number;
  spans: number;
  gapBytes: number;
  retransmittedBytes: number;
  /** Messages of no protocol Weft parses. */
  undetectedMessages: number;
  /** Packets of link types Weft does not decode, by link type (counted in skippedPackets too). */
  unsupportedLinkTypes: { linkType: number; name: string; packets: number }[];
  /** What ended the packets before the end of the file (bad record, garbage, cut mid-packet). */
  problem: CaptureProblem | null;
}

/** The sentence a user sees for what could not be read (CLI warnings, errors). */
export function captureWarnings(r: Pick<CaptureImportResult, 'problem' | 'unsupportedLinkTypes' | 'packets'>): string[] {
  const out: string[] = [];
  if (r.problem) out.push(`${r.problem.message}; read the ${r.packets} packets before it`);
  for (const l of r.unsupportedLinkTypes) out.push(`${l.packets} packets have ${l.name}, a link type Weft does not decode (Ethernet, Linux cooked v1/v2, raw IP, loopback)`);
  return out;
}

/** Sweep the session table at most this often in capture time. */
const SWEEP_EVERY_NANO = 10_000_000n;

export async function importCapture(file: Buffer, o: CaptureImportOptions): Promise<CaptureImportResult> {
  const table = createSessionTable({
    ...DEFAULT_SESSION_OPTIONS,
    hostId: o.hostId,
    protocols: PROTOCOL_PARSERS.map(l7ProtocolOf),
    source: 'net',
    origin: 'pcap',
    newSpanId: o.newSpanId ?? spanIdGenerator(),
    fixedObservationPoint: o.observationPoint,
  });
  const flows = createPacketFlows();
  const every = o.progressEvery ?? 100_000;
  let packets = 0;
  let skipped = 0;
  let spans = 0;
  let last = 0n;
  let lastSweep = 0n;
  let problem: CaptureProblem | null = null;
  const unsupported = new Map<number, number>();
  const emit = async (out: SpanRecord[]): Promise<void> => {
    if (out.length === 0) return;
    spans += out.length;
    await o.onSpans(out);
  };
  for (const pkt of readCapturedPackets(file, (p) => (problem = p))) {
    packets++;
    if (o.onProgress && packets % every === 0) o.onProgress(packets);
    if (pkt.unixNano > last) last = pkt.unixNano;
    const decoded = decodePacket(pkt.linkType, pkt.data);
    if (!decoded) {
      skipped++;
      if (!decodesLinkType(pkt.linkType)) unsupported.set(pkt.linkType, (unsupported.get(pkt.linkType) ?? 0) + 1);
      continue;
    }
    await emit(table.push(flows.push(decoded, pkt.unixNano, pkt.interfaceName || (o.interfaceName ?? ''))));
    if (last - lastSweep >= SWEEP_EVERY_NANO) {
      lastSweep = last;
      await emit(table.sweep(last));
    }
  }
  await emit(table.push(flows.end(last)));
  await emit(table.sweep(last + DEFAULT_SESSION_OPTIONS.messageIdleNano));
  await emit(table.flush());
  const f = flows.stats();
  const unsupportedLinkTypes = [...unsupported].map(([linkType, n]) => ({ linkType, name: linkTypeName(linkType), packets: n }));
  // Nothing usable at all is an error; anything less is a warning next to what was read.
  const failure = packets === 0 ? problem : null;
  if (failure) throw new TracingError('TRC_PCAP_MALFORMED', `${(failure as CaptureProblem).message}; no packet could be read`, { httpStatus: 400 });
  if (packets > 0 && unsupported.size > 0 && [...unsupported.values()].reduce((a, b) => a + b, 0) === packets) {
    throw new TracingError('TRC_PCAP_MALFORMED', `capture file: every packet has ${unsupportedLinkTypes.map((l) => l.name).join(', ')}, a link type Weft does not decode (Ethernet, Linux cooked v1/v2, raw IP, loopback)`, { httpStatus: 400 });
  }
  return {
    packets,
    skippedPackets: skipped,
    flows: f.flows,
    spans,
    gapBytes: f.gapBytes,
    retransmittedBytes: f.retransmittedBytes,
    undetectedMessages: table.stats().undetectedMessages,
    unsupportedLinkTypes,
    problem,
  };
}
