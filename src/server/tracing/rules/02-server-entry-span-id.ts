/**
 * @module Rule 02, s-app → server entry: an s-app whose parentSpanId equals the header span id
 * an s-p (or the last server NIC span of a chain without s-p) received, and that covers it, goes
 * under that span. Several candidates (a proxy and its upstream receive the same traceparent):
 * the same host/pid first, then the latest start. Certain: explicit ids.
 */
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const serverEntrySpanId: LinkRule = {
  name: '02-server-entry-span-id',
  apply(ctx: AssemblyContext): void {
    const entries = ctx.serverEntriesByParent();
    const tol = ctx.tol.networkDelayNano + ctx.tol.hostClockOffsetNano;
    for (let i = 0; i < ctx.n; i++) {
      const a = ctx.S(i);
      if (a.source !== 'app' || a.observationPoint !== 's-app' || !a.parentSpanId) continue;
      const cands = (entries.get(a.parentSpanId) ?? []).filter((e) => ctx.covers(e, i, tol));
      const best = ctx.pickBest(cands, (e) => ctx.hostScore(a, ctx.S(e)));
      if (best !== undefined) ctx.link(i, best, 'span_id', CONFIDENCE.spanId);
    }
  },
};
