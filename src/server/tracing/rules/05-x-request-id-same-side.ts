/**
 * @module Rule 05, X-Request-ID on the same side: a c-p goes under the s-p of its process that
 * covers it and received the id it sends (passed through: `s-p.xReq == c-p.xReq`) or answered
 * with it (injected by this proxy: `s-p.xResp == c-p.xReq`). An X-Request-ID names one request,
 * so a single candidate is certain; several (a reused or constant id) are only possible parents.
 */
import { linkEvidenceOf } from '../../../model/index.js';
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const xRequestIdSameSide: LinkRule = {
  name: '05-x-request-id-same-side',
  apply(ctx: AssemblyContext): void {
    const spByHost = ctx.spByHost();
    for (const i of ctx.clientProcesses()) {
      if (ctx.parent[i] !== null) continue;
      const c = ctx.S(i);
      if (!c.xRequestIdReq || ctx.isHot('x_request_id', c.xRequestIdReq)) continue;
      const cands = (spByHost.get(c.hostId) ?? []).filter((sp) => {
        const s = ctx.S(sp);
        return ctx.sameProc(s, c) && ctx.covers(sp, i, ctx.tol.networkDelayNano) && (s.xRequestIdReq === c.xRequestIdReq || s.xRequestIdResp === c.xRequestIdReq);
      });
      const clean = cands.filter((sp) => !ctx.traceConflict(i, sp));
      if (clean.length === 1) {
        ctx.link(i, clean[0] as number, 'x_request_id', CONFIDENCE.xRequestIdSameSide);
        continue;
      }
      const why = clean.length > 1 ? `${clean.length} requests of this process carried X-Request-ID ${c.xRequestIdReq}` : 'the same X-Request-ID, but different trace ids';
      for (const sp of cands) ctx.possible(i, sp, 'x_request_id', CONFIDENCE.xRequestIdSameSide / 2, why);
      if (clean.length > 1 && linkEvidenceOf(c.attributes) !== 'ambiguous') ctx.ambiguous(i, `c-p ${ctx.label(i)}: X-Request-ID ${c.xRequestIdReq} is not unique in its process; left unlinked`);
    }
  },
};
