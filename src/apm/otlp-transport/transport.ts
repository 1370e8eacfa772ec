/**
 * @module What a transport answers (otel-js `ExportResponse` shape) and the Transport interface.
 */

export type SendResult =
  | { status: 'success' }
  | { status: 'failure'; error: Error }
  /** Worth sending again; `retryAfterMs` is the server's wish (Retry-After, gRPC retry info). */
  | { status: 'retryable'; retryAfterMs?: number; error: Error };

export interface Transport {
  /** Sends one serialized request. Never rejects: every outcome is a SendResult. */
  send(bytes: Uint8Array, timeoutMs: number): Promise<SendResult>;
  /** Releases connections. */
  shutdown(): Promise<void>;
}
