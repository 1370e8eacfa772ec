/**
 * @module What the sessions layer needs from an L7 protocol: detection and per-connection
 * request/response pairing over whole messages.
 *
 * Protocol folders (src/agent/protocols/*) implement their parsers; `protocol-adapter.ts` turns
 * each into this port. Keeping the port small is what lets a new protocol be one folder.
 */
import type { SpanRecord } from '../../model/index.js';
import type { Message } from './messages.js';

/** Which side of the exchange a message came from. */
export type MessageRole = 'request' | 'response';

/** The L7 facts of one exchange; the session adds transport, process and key fields. */
export type L7Fields = Pick<
  SpanRecord,
  | 'protocol'
  | 'name'
  | 'requestType'
  | 'requestDomain'
  | 'requestResource'
  | 'endpoint'
  | 'requestId'
  | 'responseStatus'
  | 'responseCode'
  | 'responseException'
  | 'traceId'
  | 'parentSpanId'
  | 'xRequestIdReq'
  | 'xRequestIdResp'
  | 'attributes'
>;

/** One request paired with its response (either may be missing: timeout, response-only). */
export interface Exchange {
  request: Message | null;
  response: Message | null;
  fields: L7Fields;
}

export interface L7Connection {
  /** Feeds one whole message; returns exchanges completed by it (in request order). */
  onMessage(role: MessageRole, message: Message): Exchange[];
  /** Requests still waiting for a response: returned (as timeouts) and forgotten. */
  drain(): Exchange[];
  /** How many requests wait for a response. */
  pending(): number;
}

export interface L7Protocol {
  readonly name: string;
  /** Whether `bytes` look like the start of a `role` message of this protocol. Pure, cheap. */
  detect(bytes: Uint8Array, role: MessageRole, serverPort: number): 'yes' | 'no' | 'maybe';
  /** Per-connection state. UDP protocols get one per socket, too. */
  open(): L7Connection;
}
