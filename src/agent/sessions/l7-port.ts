/**
 * @module What the sessions layer needs from an L7 protocol: detection and per-connection
 * request/response pairing over whole messages.
 *
 * Protocol folders (src/agent/protocols/*) implement their parsers; `protocol-adapter.ts` turns
 * each into this port. Keeping the port small is what lets a new protocol be one folder.
 */
import type { SpanRecord } from '../../model/index.js';
import type { StreamStats } from '../protocols/exchange-stream.js';
import type { ConnInfo } from '../protocols/protocol.js';
import type { DataEvent } from '../capture/capture-event.js';
import type { Message } from './messages.js';

/** Which side of the exchange a message came from. */
export type MessageRole = 'request' | 'response';

/**
 * Per-connection pairing. It returns finished SpanRecords with every field it knows (L7 fields,
 * times and keys from the messages, transport and process fields from the ConnInfo it was opened
 * with); the session table assigns span ids.
 */
export interface L7Connection {
  /** Feeds one whole message; returns the spans of exchanges it completed (in request order). */
  onMessage(role: MessageRole, message: Message): SpanRecord[];
  /**
   * Optional: feeds one capture event's bytes as they come (self-delimiting protocols). When
   * present, the session table uses it for every event after the one that detected the protocol.
   */
  onChunk?(role: MessageRole, ev: DataEvent): SpanRecord[];
  /** The connection ended: frames still unfinished are completed as partial; returns the spans that makes. */
  endStreams(): SpanRecord[];
  /** Requests still waiting for a response, as `timeout` spans; they are forgotten. */
  drain(): SpanRecord[];
  /** How many requests wait for a response. */
  pending(): number;
}

export interface L7Protocol {
  readonly name: string;
  /** Whether `bytes` look like the start of a `role` message of this protocol. Pure, cheap. */
  detect(bytes: Uint8Array, role: MessageRole, serverPort: number): 'yes' | 'no' | 'maybe';
  /** Per-connection state. UDP protocols get one per socket, too. */
  open(conn: ConnInfo): L7Connection;
  /** What the protocol's connections could not parse or pair, summed (for /metrics). */
  parseStats?(): StreamStats;
}
