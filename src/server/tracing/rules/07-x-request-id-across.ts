/**
 * @module Rule 07, X-Request-ID across a hop: an unparented server-side span (s-p or server
 * NIC) goes under a client-side span of another chain that sent the same request X-Request-ID
 * and covers it (a gateway hop whose tcp seq was not seen). Several such clients on one path
 * (a gateway's c-p and its NIC): the shortest wins, the nearest hop. Never across two different
 * propagated trace ids.
 */
import { isClientSide, isServerSide, toleranceBetween } from '../link-rules.js';
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const xRequestIdAcross: LinkRule = {
  name: '07-x-request-id-across',
  apply(ctx: AssemblyContext): void {
    const byXReq = ctx.byXRequestIdReq();
    for (let i = 0; i < ctx.n; i++) {
      const s = ctx.S(i);
      if (s.source === 'app' || !isServerSide(s.observationPoint) || ctx.parent[i] !== null) continue;
      if (!s.xRequestIdReq || ctx.isHot('x_request_id', s.xRequestIdReq)) continue;
      const cands: number[] = [];
      for (const j of byXReq.get(s.xRequestIdReq) ?? []) {
        const c = ctx.S(j);
        if (j === i || !isClientSide(c.observationPoint) || ctx.chainId[j] === ctx.chainId[i]) continue;
        if (!ctx.covers(j, i, toleranceBetween(c, s, ctx.tol))) continue;
        if (ctx.traceConflict(i, j)) {
          ctx.possible(i, j, 'x_request_id', CONFIDENCE.xRequestIdCrossSide / 2, 'the same X-Request-ID, but different trace ids');
          continue;
        }
        cands.push(j);
      }
      const best = ctx.pickBest(cands, (j) => -Number(ctx.S(j).endTimeUnixNano - ctx.S(j).startTimeUnixNano));
      if (best !== undefined) ctx.link(i, best, 'x_request_id', CONFIDENCE.xRequestIdCrossSide);
    }
  },
};
