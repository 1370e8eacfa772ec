/**
 * @module Test/bench driver: replays captured flows through one parser (via the same
 * ExchangeStream the sessions use) and returns the spans, in flow then request order.
 */
import type { SpanRecord } from '../../../model/index.js';
import { createExchangeStream, type StreamStats } from '../exchange-stream.js';
import type { AnyProtocolParser, ConnInfo } from '../protocol.js';
import type { Flow } from './pcap-flows.js';

export function connOf(flow: Flow): ConnInfo {
  return {
    source: 'net',
    origin: 'pcap',
    observationPoint: 'c',
    ipVersion: flow.ipVersion,
    transport: flow.transport,
    clientIp: flow.clientIp,
    clientPort: flow.clientPort,
    serverIp: flow.serverIp,
    serverPort: flow.serverPort,
    processId: 0,
    processName: '',
    hostId: '',
    interfaceName: 'lo',
  };
}

export interface ReplayResult {
  spans: SpanRecord[];
  stats: StreamStats[];
}

export function replayFlows(parser: AnyProtocolParser, flows: readonly Flow[]): ReplayResult {
  const spans: SpanRecord[] = [];
  const stats: StreamStats[] = [];
  for (const flow of flows) {
    const stream = createExchangeStream<unknown>(parser, flow.transport);
    const conn = connOf(flow);
    for (const m of flow.messages) {
      for (const rec of stream.push(m.fromClient ? 'request' : 'response', m.bytes, m.meta, true)) spans.push(parser.toSpan(rec, conn));
    }
    for (const rec of stream.drain()) spans.push(parser.toSpan(rec, conn));
    stats.push(stream.stats);
  }
  return { spans, stats };
}

/** JSON for golden files: bigint times as decimal strings (as OTLP/JSON writes them). */
export function spansToJson(spans: readonly SpanRecord[]): string {
  return `${JSON.stringify(spans, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}
