/**
 * @module An assembled trace prepared for the Jaeger, OTLP and Tempo shapes, which have no
 * node ids: one 16-hex span id per node and each node's parent taken from the assembly.
 *
 * This is what makes those APIs full-stack: a SYS or NET span's parent on the wire is the
 * node the assembly chose (an APP span, another SYS/NET span), so Grafana and the Jaeger UI
 * draw one tree. The ids a source reported are kept as `weft.span_id` / `weft.parent_span_id`
 * when the wire ids differ from them.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue, SpanRecord } from '../../model/index.js';
import type { AssembledTrace, TraceNode } from '../tracing/trace.js';

const SPAN_HEX_RE = /^[0-9a-f]{16}$/;
const ZERO_RE = /^0+$/;

export interface WireSpan {
  node: TraceNode;
  /** A copy of the node's span with traceId, spanId and parentSpanId set for the wire. */
  span: SpanRecord;
  /** weft.* attributes that describe the span's place in the assembled tree. */
  extraAttributes: Record<string, AttributeValue>;
}

function derivedSpanId(nodeId: string): string {
  const hex = createHash('sha256').update(nodeId).digest('hex').slice(0, 16);
  return ZERO_RE.test(hex) ? '0000000000000001' : hex;
}

/**
 * One wire span per node, in the trace's order. A node keeps its own span id when that is a
 * valid 16-hex id no other node of the trace has; otherwise (SkyWalking ids, SYS/NET spans
 * that carry the span id from a header) it gets one derived from its node id.
 */
export function toWireSpans(trace: AssembledTrace): WireSpan[] {
  const count = new Map<string, number>();
  for (const n of trace.nodes) count.set(n.span.spanId, (count.get(n.span.spanId) ?? 0) + 1);
  const wireId = new Map<string, string>();
  for (const n of trace.nodes) {
    const own = n.span.spanId;
    wireId.set(n.id, SPAN_HEX_RE.test(own) && !ZERO_RE.test(own) && count.get(own) === 1 ? own : derivedSpanId(n.id));
  }
  return trace.nodes.map((node) => {
    const s = node.span;
    const spanId = wireId.get(node.id) ?? derivedSpanId(node.id);
    // An assembled root keeps what its source reported: a parent outside the stored data.
    const parentSpanId = node.parentId !== null ? (wireId.get(node.parentId) ?? s.parentSpanId) : s.parentSpanId;
    const extra: Record<string, AttributeValue> = { 'weft.node_id': node.id };
    if (node.linkReason !== null) extra['weft.link_reason'] = node.linkReason;
    if (node.confidence !== null) extra['weft.confidence'] = node.confidence;
    if (node.clockOffsetNano !== 0n) extra['weft.clock_offset_nano'] = node.clockOffsetNano.toString();
    if (node.possibleParents.length > 0) {
      // Jaeger and Tempo have no slot for candidates: a readable tag, one `span (reason: why)` each.
      extra['weft.possible_parents'] = node.possibleParents.map((p) => `${p.spanId || '?'} ${p.service} ${p.name} (${p.reason}: ${p.why})`).join('; ');
    }
    if (spanId !== s.spanId && s.spanId !== '') extra['weft.span_id'] = s.spanId;
    if (parentSpanId !== s.parentSpanId && s.parentSpanId !== '') extra['weft.parent_span_id'] = s.parentSpanId;
    // One trace on the wire has one trace id; a span joined from another id keeps it as weft.trace_id.
    if (s.traceId !== '' && s.traceId !== trace.traceId) extra['weft.trace_id'] = s.traceId;
    const span: SpanRecord = { ...s, traceId: trace.traceId, spanId, parentSpanId };
    return { node, span, extraAttributes: extra };
  });
}

/** The `extraSpanAttributes` callback for `toOtlpJson` over a set of wire spans. */
export function extraAttributesLookup(wire: readonly WireSpan[]): (s: SpanRecord) => Record<string, AttributeValue> {
  const bySpan = new Map<SpanRecord, Record<string, AttributeValue>>();
  for (const w of wire) bySpan.set(w.span, w.extraAttributes);
  return (s) => bySpan.get(s) ?? {};
}
