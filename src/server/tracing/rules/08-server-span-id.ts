/**
 * @module Rule 08, header span id on the server side: an unparented s-p or server NIC span with a
 * header span id goes under the span with that id (a c-app whose c-p was not captured). Certain:
 * explicit ids.
 */
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const serverSpanId: LinkRule = {
  name: '08-server-span-id',
  apply(ctx: AssemblyContext): void {
    const bySpanId = ctx.bySpanId();
    for (let i = 0; i < ctx.n; i++) {
      const s = ctx.S(i);
      if (s.source === 'app' || ctx.parent[i] !== null || !s.parentSpanId) continue;
      const cands = (bySpanId.get(s.parentSpanId) ?? []).filter((p) => p !== i);
      const best = ctx.pickBest(cands, (p) => (ctx.S(p).source === 'app' ? 1 : 0));
      if (best !== undefined) ctx.link(i, best, 'span_id', CONFIDENCE.spanId);
    }
  },
};
