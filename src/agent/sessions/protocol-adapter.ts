/**
 * @module Turns a protocol parser (src/agent/protocols) into the sessions' L7 port: detection
 * with the parser's default ports as a tie-breaker, and one ExchangeStream per connection fed
 * whole messages.
 */
import type { SpanRecord } from '../../model/index.js';
import { createExchangeStream } from '../protocols/exchange-stream.js';
import type { AnyProtocolParser, ConnInfo, FrameMeta } from '../protocols/protocol.js';
import type { L7Connection, L7Protocol } from './l7-port.js';
import type { Message } from './messages.js';

function metaOf(m: Message): FrameMeta {
  return {
    startUnixNano: m.startUnixNano,
    endUnixNano: m.endUnixNano,
    tcpSeq: m.tcpSeq,
    syscallTraceId: m.syscallTraceId,
    tid: m.tid,
  };
}

export function l7ProtocolOf(parser: AnyProtocolParser): L7Protocol {
  return {
    name: parser.name,
    detect(bytes, role, serverPort) {
      const verdict = parser.detect(bytes, role);
      // Bytes that merely could be this protocol count when they go to its usual port.
      if (verdict === 'maybe') return parser.defaultPorts.includes(serverPort) ? 'yes' : 'maybe';
      return verdict;
    },
    open(conn: ConnInfo): L7Connection {
      const stream = createExchangeStream<unknown>(parser, conn.transport);
      const toSpans = (records: unknown[]): SpanRecord[] => records.map((r) => parser.toSpan(r, conn) as SpanRecord);
      return {
        // The session hands over whole messages, so each push ends its message.
        onMessage: (role, message) => toSpans(stream.push(role, message.bytes, metaOf(message), true)),
        drain: () => toSpans(stream.drain()),
        pending: () => stream.pending(),
      };
    },
  };
}
