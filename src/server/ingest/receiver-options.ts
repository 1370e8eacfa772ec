/**
 * @module Options every receiver takes. Receivers get an IngestSink, never a store.
 */
import type { RemoteAgentMetrics } from './agent-metrics.js';
import type { IngestSink } from './ingest.js';
import type { MemoryBudget } from './memory-budget.js';

export interface ReceiverOptions {
  sink: IngestSink;
  /** Largest request body accepted, counted both on the wire and after gunzip (413 beyond). */
  maxBodyBytes: number;
  /** Shared budget for bodies in flight (HTTP receivers take it through a hook, gRPC ones here). */
  budget?: MemoryBudget;
  /** Where remote agents' self-reports go (OTLP/HTTP receiver only; absent: the route 404s). */
  agentMetrics?: RemoteAgentMetrics;
}

export interface GrpcReceiverOptions extends ReceiverOptions {
  host: string;
  /** 0 picks a free port; the handle tells which. */
  port: number;
  /** When set, every call needs `authorization: Bearer <token>` metadata (else UNAUTHENTICATED). */
  token?: string;
}

export interface GrpcReceiverHandle {
  port: number;
  /** Stops accepting calls, lets running ones finish briefly, then cancels the rest. */
  close(): Promise<void>;
}
