/**
 * @module Rule 03, span ids: APP spans and client-side chain heads (a c-p, or the first NIC span
 * when no c-p was seen) go under the span whose id is their parentSpanId; APP parents first,
 * c-app first among them. Exception: a c-p whose process also received that header span id on
 * an s-p covering it is a proxy forwarding the header, left to the syscall and X-Request-ID
 * rules (DeepFlow would hang it under the caller's c-app). Certain: explicit ids.
 */
import { isClientSide } from '../link-rules.js';
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const spanId: LinkRule = {
  name: '03-span-id',
  apply(ctx: AssemblyContext): void {
    const bySpanId = ctx.bySpanId();
    const spByParent = ctx.spByParentSpanId();
    const proxyForwarded = (i: number): boolean => {
      const c = ctx.S(i);
      return (spByParent.get(c.parentSpanId) ?? []).some((sp) => ctx.sameProc(ctx.S(sp), c) && ctx.covers(sp, i, ctx.tol.networkDelayNano));
    };
    for (let i = 0; i < ctx.n; i++) {
      const s = ctx.S(i);
      if (!s.parentSpanId || ctx.parent[i] !== null) continue;
      const clientHead = s.source !== 'app' && isClientSide(s.observationPoint) && ctx.chainHead(i);
      if (s.source !== 'app' && !clientHead) continue;
      if (clientHead && s.observationPoint === 'c-p' && proxyForwarded(i)) continue;
      const cands = (bySpanId.get(s.parentSpanId) ?? []).filter((p) => p !== i);
      const best = ctx.pickBest(cands, (p) => (ctx.S(p).source === 'app' ? 2 : 0) + (ctx.S(p).observationPoint === 'c-app' ? 1 : 0));
      if (best !== undefined) ctx.link(i, best, 'span_id', CONFIDENCE.spanId);
    }
  },
};
