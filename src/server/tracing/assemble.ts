/**
 * @module Trace assembly: a pure function from a set of spans to one tree.
 *
 * A fixed sequence of steps (like Jaeger's adjusters), each documented in docs/assembly.md in
 * the same order:
 *   1. sort canonically and drop exact duplicates (so input order never matters);
 *   2. merge request-only and response-only halves of one message;
 *   3. the link rules (rules/index.ts), in order, each a small module that links a span to a
 *      parent only on certain evidence and records ambiguous candidates as possible parents;
 *   4. correct clock offsets between hosts;
 *   5. prune trees that do not belong (prune.ts);
 *   6. order pre-order, siblings by start time.
 * A link is only ever added when the child has no parent yet and it closes no cycle, so the
 * result is a forest with every span once.
 */
import { linkCandidatesOf, type SpanRecord } from '../../model/index.js';
import { correctClocks } from './clock-offsets.js';
import { DEFAULT_TOLERANCES } from './link-rules.js';
import type { HotKeys, Tolerances } from './link-rules.js';
import { mergeHalves } from './merge-halves.js';
import { pruneTrees } from './prune.js';
import { AssemblyContext, LINK_RULES } from './rules/index.js';
import { sortAndDedupe } from './span-identity.js';
import type { AssembledTrace, PossibleParent, PossibleParentRef, TraceNode } from './trace.js';

export { CONFIDENCE } from './rules/index.js';

export interface AssembleOptions {
  /** The trace id to name the result after; defaults to the first trace id found. */
  traceId?: string;
  /** The span the trace was asked for by (a SYS/NET span id); its tree is never pruned. */
  seedSpanId?: string;
  /** Time tolerances; defaults 50 ms within a host, +10 ms across hosts. */
  tolerances?: Partial<Tolerances>;
  /**
   * Link keys (`hotKeyId(type, value)`) that matched too many spans in the walk; no rule
   * links through them.
   */
  hotKeys?: HotKeys;
}

/** Steps 1–3: canonical order, duplicates out, halves merged, then every link rule in order. */
export function linkSpans(input: readonly SpanRecord[], tol: Tolerances, hot: HotKeys): AssemblyContext {
  const { spans } = mergeHalves(sortAndDedupe(input).spans);
  const ctx = new AssemblyContext(spans, tol, hot);
  for (const rule of LINK_RULES) {
    ctx.currentRule = rule.name;
    rule.apply(ctx);
  }
  return ctx;
}

export function assemble(input: SpanRecord[], options: AssembleOptions = {}): AssembledTrace {
  const tol: Tolerances = { ...DEFAULT_TOLERANCES, ...(options.tolerances ?? {}) };

  const ctx = linkSpans(input, tol, options.hotKeys ?? new Set());
  const spans = ctx.spans;
  const warnings = ctx.warnings;

  // 4. pre-order, clock domains, offsets.
  const domainOf = clockDomains(ctx);
  let order = preOrder(spans, ctx.parent);
  const clock = correctClocks(spans, domainOf, order, ctx.parent);
  warnings.push(...clock.warnings);

  // 5. prune trees that do not belong.
  const keep = pruneTrees(spans, ctx.parent, order, options);
  // Requests read only because a kept call names them (the requests open on its event loop's
  // thread, read by the walk as possible parents) are not unrelated trees the walk ran into: the
  // call lists them, or another rule placed it with certainty.
  const named = new Set<number>();
  for (const [i, cands] of ctx.possibleParents) if (keep.kept[i]) for (const c of cands) named.add(c.index);
  const candidateKeys = new Set<string>();
  for (const i of order) {
    if (!keep.kept[i]) continue;
    const s = spans[i] as SpanRecord;
    for (const id of linkCandidatesOf(s.attributes)) candidateKeys.add(`${s.hostId}|${s.processId}|${id}`);
  }
  if (candidateKeys.size > 0) {
    for (const i of order) {
      const s = spans[i] as SpanRecord;
      if (!keep.kept[i] && s.observationPoint === 's-p' && candidateKeys.has(`${s.hostId}|${s.processId}|${s.syscallTraceIdReq}`)) named.add(i);
    }
  }
  const rootOf = (i: number): number => {
    let r = i;
    for (let p = ctx.parent[r]; p !== null && p !== undefined; p = ctx.parent[r]) r = p;
    return r;
  };
  const droppedTrees = new Map<number, number[]>();
  for (const i of order) {
    if (keep.kept[i]) continue;
    const r = rootOf(i);
    const l = droppedTrees.get(r);
    if (l) l.push(i);
    else droppedTrees.set(r, [i]);
  }
  let unrelated = 0;
  let unrelatedTrees = 0;
  for (const members of droppedTrees.values()) {
    if (members.every((i) => named.has(i))) continue;
    unrelated += members.length;
    unrelatedTrees++;
  }
  if (unrelated > 0) warnings.push(`pruned ${unrelated} span(s) in ${unrelatedTrees} tree(s) unrelated to the requested trace`);
  order = order.filter((i) => keep.kept[i]);
  // A call left out because its parent was ambiguous may still be this trace's: say so.
  for (const [i, cands] of ctx.possibleParents) {
    if (keep.kept[i] || ctx.parent[i] !== null) continue;
    const here = cands.filter((c) => keep.kept[c.index]);
    if (here.length === 0) continue;
    const s = spans[i] as SpanRecord;
    warnings.push(
      `${s.observationPoint} ${s.spanId} (${[s.name || s.requestResource, s.service || s.processName].filter((x) => x).join(', ')}) may belong under ${here.map((c) => ctx.label(c.index)).join(' or ')} but is not shown: ${(here[0] as PossibleParent).why}`,
    );
  }

  // 6. render.
  const S = (i: number): SpanRecord => spans[i] as SpanRecord;
  const idCount = new Map<string, number>();
  for (const i of order) if (S(i).spanId) idCount.set(S(i).spanId, (idCount.get(S(i).spanId) ?? 0) + 1);
  const nodeId = (i: number): string => {
    const s = S(i);
    return s.spanId && idCount.get(s.spanId) === 1 ? s.spanId : `${s.spanId || s.hostId || 'span'}.${s.observationPoint}.${i}`;
  };
  const possibleOf = (i: number): PossibleParentRef[] =>
    (ctx.possibleParents.get(i) ?? []).map((p) => {
      const c = S(p.index);
      return {
        id: keep.kept[p.index] ? nodeId(p.index) : null,
        spanId: c.spanId,
        traceId: c.traceId,
        service: c.service,
        name: c.name,
        reason: p.reason,
        confidence: p.confidence,
        why: p.why,
      };
    });
  const nodes: TraceNode[] = [];
  for (const i of order) {
    const s = S(i);
    const off = clock.offsets[i] ?? 0n;
    const p = ctx.parent[i] ?? null;
    const because = p === null ? ctx.unlinkedBecause.get(i) : undefined;
    if (because !== undefined) warnings.push(because);
    if (p === null && s.parentSpanId) warnings.push(`span ${s.spanId || nodeId(i)}: parent ${s.parentSpanId} is not in the trace; shown at the root`);
    nodes.push({
      id: nodeId(i),
      span: off === 0n ? s : { ...s, startTimeUnixNano: s.startTimeUnixNano + off, endTimeUnixNano: s.endTimeUnixNano + off },
      parentId: p === null ? null : nodeId(p),
      linkReason: p === null ? null : (ctx.reason[i] ?? null),
      confidence: p === null ? null : (ctx.confidence[i] ?? null),
      clockOffsetNano: off,
      possibleParents: p === null ? possibleOf(i) : [],
    });
  }
  const kept = order.map(S);
  const traceId = options.traceId ?? kept.find((s) => s.traceId)?.traceId ?? '';
  const services = [...new Set(kept.map((s) => s.service).filter((x) => x))].sort();
  return { traceId, nodes, services, warnings };
}

/** Clock domains: a host; APP spans join the host of the SYS span they are linked to. */
function clockDomains(ctx: AssemblyContext): string[] {
  const spans = ctx.spans;
  const base = spans.map((s) => (s.hostId ? `host:${s.hostId}` : `app:${s.service}|${String(s.resource['service.instance.id'] ?? '')}`));
  const parentOf = new Map<string, string>();
  const find = (d: string): string => {
    let r = d;
    while (parentOf.has(r)) r = parentOf.get(r) as string;
    return r;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return;
    // Hosts win, then the lexically smaller name, so the result does not depend on order.
    const [keep, drop] = ra.startsWith('host:') && !rb.startsWith('host:') ? [ra, rb] : rb.startsWith('host:') && !ra.startsWith('host:') ? [rb, ra] : ra < rb ? [ra, rb] : [rb, ra];
    if (drop.startsWith('host:')) return; // two hosts are two clocks
    parentOf.set(drop, keep);
  };
  spans.forEach((s, i) => {
    const p = ctx.parent[i];
    if (p === null || p === undefined) return;
    const ps = spans[p] as SpanRecord;
    const appSys = (s.source === 'app') !== (ps.source === 'app');
    const sameProcessRule = ctx.reason[i] === 'span_id' || ctx.reason[i] === 'process' || ctx.reason[i] === 'trace_id';
    if (appSys && sameProcessRule) union(base[i] as string, base[p] as string);
  });
  return base.map(find);
}


function preOrder(spans: readonly SpanRecord[], parent: readonly (number | null)[]): number[] {
  const children: number[][] = spans.map(() => []);
  const roots: number[] = [];
  parent.forEach((p, i) => (p === null || p === undefined ? roots.push(i) : children[p]?.push(i)));
  // Indexes are in canonical start order already, so children lists are sorted by start.
  const out: number[] = [];
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const i = stack.pop() as number;
    out.push(i);
    const ch = children[i] ?? [];
    for (let k = ch.length - 1; k >= 0; k--) stack.push(ch[k] as number);
  }
  return out;
}
