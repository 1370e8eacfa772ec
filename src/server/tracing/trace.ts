/**
 * @module The assembled trace: spans placed in one tree, each parent link with its reason.
 *
 * `assemble()` (in assemble.ts) produces this from a set of spans; the query APIs render it.
 */
import type { SpanRecord } from '../../model/index.js';

/**
 * Why a span was placed under its parent.
 * - span_id: parentSpanId → spanId (OTel, Zipkin, SkyWalking ids incl. cross-process refs).
 * - tcp_seq: the same message seen at two observation points.
 * - syscall: a process's inbound request and the calls it made on the same thread.
 * - x_request_id: an X-Request-ID carried across a proxy.
 * - trace_id: same trace id, placed by time containment only (weak).
 * - process: same process, placed by time containment (weak).
 * - runtime: the process's own runtime (the Node.js hook) said which inbound request a call
 *   serves; the agent recorded it as the call's syscall id.
 */
export type LinkReason = 'span_id' | 'tcp_seq' | 'syscall' | 'runtime' | 'x_request_id' | 'trace_id' | 'process';

/** A candidate parent the evidence could not settle (assembly's internal form, by span index). */
export interface PossibleParent {
  index: number;
  reason: LinkReason;
  confidence: number;
  /** Why it is only possible, in words. */
  why: string;
}

/** A candidate parent as the APIs show it. */
export interface PossibleParentRef {
  /** Node id when the candidate is in this trace; null when it is not (another request's trace). */
  id: string | null;
  spanId: string;
  traceId: string;
  service: string;
  name: string;
  reason: LinkReason;
  confidence: number;
  why: string;
}

export interface TraceNode {
  /** Unique within one assembled trace (span ids may repeat across sources). */
  id: string;
  span: SpanRecord;
  /** `id` of the parent node; null for a root. */
  parentId: string | null;
  /** Why this parent; null for a root. */
  linkReason: LinkReason | null;
  /** 1 for links by explicit ids, lower for inferred links. null for a root. */
  confidence: number | null;
  /** Clock correction applied to this span's times (0n when none). */
  clockOffsetNano: bigint;
  /** Parents the evidence pointed at but could not settle (ambiguous links); never the parent. */
  possibleParents: PossibleParentRef[];
}

export interface AssembledTrace {
  /** The trace id asked for, or the first trace id found when assembled from a span id. */
  traceId: string;
  /** Parents before children (a pre-order walk of the tree), siblings by start time. */
  nodes: TraceNode[];
  /** Distinct services, sorted. */
  services: string[];
  /** Problems found while assembling (orphans, clock skew, hit caps); never thrown. */
  warnings: string[];
}
