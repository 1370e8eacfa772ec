/**
 * @module Rule 04, syscall: a c-p goes under the s-p of its process whose request it served.
 *
 * The agent decides what a call serves and says how it knows (src/model/link-evidence.ts):
 * - `thread` / `runtime`: certain. The c-p carries the served request's syscall id; it goes under
 *   the s-p of the same host and process with that request-side id, covering it in time.
 * - `ambiguous`: several requests were open on the thread (an event loop). No link: the s-p
 *   candidates present in the trace are recorded as possible parents, with a warning.
 * - `none`: the thread served no request: nothing to do.
 * Spans of older agents (no evidence attribute) follow the kernel's per-thread rule as before —
 * the s-p whose request id the c-p took, else the previous call's s-p (chained through response
 * ids), else the s-p whose response id equals the c-p's — but never across two different
 * propagated trace ids, which would join two requests through a key that cannot tell them apart.
 */
import { linkCandidatesOf, linkEvidenceOf } from '../../../model/index.js';
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

function push(m: Map<string, number[]>, k: string, v: number): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export const syscall: LinkRule = {
  name: '04-syscall',
  apply(ctx: AssemblyContext): void {
    const spByReq = ctx.spBySyscallReq();
    const spByResp = ctx.spBySyscallResp();
    const tol = ctx.tol.networkDelayNano;
    const servedBy = (i: number, id: number): number[] => {
      const c = ctx.S(i);
      return (spByReq.get(`${c.hostId}|${id}`) ?? []).filter((sp) => ctx.sameProc(ctx.S(sp), c) && ctx.covers(sp, i, tol));
    };
    // Older agents: consecutive calls on a thread link through opposite sides of their ids.
    const legacyByResp = new Map<string, number[]>();
    const legacyByReq = new Map<string, number[]>();

    for (const i of ctx.clientProcesses()) {
      if (ctx.parent[i] !== null) continue;
      const c = ctx.S(i);
      const evidence = linkEvidenceOf(c.attributes);
      if (evidence === 'thread' || evidence === 'runtime') {
        if (!c.syscallTraceIdReq || ctx.isHot('syscall', c.syscallTraceIdReq)) continue;
        const cands = servedBy(i, c.syscallTraceIdReq);
        const best = ctx.pickBest(cands);
        if (best === undefined) continue;
        if (ctx.traceConflict(i, best)) {
          ctx.possible(i, best, 'syscall', CONFIDENCE.syscallThread, 'its thread served this request, but the two carry different trace ids');
          continue;
        }
        ctx.link(i, best, evidence === 'runtime' ? 'runtime' : 'syscall', evidence === 'runtime' ? CONFIDENCE.runtime : CONFIDENCE.syscallThread);
        continue;
      }
      if (evidence === 'ambiguous') {
        const ids = linkCandidatesOf(c.attributes);
        const open = Number(c.attributes['weft.thread.open_inbound'] ?? ids.length) || ids.length;
        for (const id of ids) {
          for (const sp of servedBy(i, id)) {
            ctx.possible(i, sp, 'syscall', CONFIDENCE.syscallThread / Math.max(2, open), `its thread had ${open} requests open when this call started`);
          }
        }
        ctx.ambiguous(i, `c-p ${ctx.label(i)} (${c.name || c.requestResource}) could serve any of ${open} requests open on its thread (event loop); left unlinked`);
        continue;
      }
      if (evidence === 'none') continue;

      // An older agent's span.
      const ids = [c.syscallTraceIdReq, c.syscallTraceIdResp].filter((x) => x !== 0 && !ctx.isHot('syscall', x));
      if (ids.length === 0) continue;
      const linkLegacy = (sp: number, confidence: number): boolean => {
        if (ctx.traceConflict(i, sp)) {
          ctx.possible(i, sp, 'syscall', confidence, 'the per-thread syscall id matches, but the two carry different trace ids');
          return false;
        }
        return ctx.link(i, sp, 'syscall', confidence);
      };
      let linked = false;
      const direct = ctx.pickBest(ids.flatMap((id) => servedBy(i, id)));
      if (direct !== undefined) linked = linkLegacy(direct, CONFIDENCE.syscallDirect);
      if (!linked && direct === undefined) {
        const viaPrevious = [
          ...(c.syscallTraceIdReq ? (legacyByResp.get(`${c.hostId}|${c.processId}|${c.syscallTraceIdReq}`) ?? []) : []),
          ...(c.syscallTraceIdResp ? (legacyByReq.get(`${c.hostId}|${c.processId}|${c.syscallTraceIdResp}`) ?? []) : []),
        ].filter((p) => p !== i && ctx.sameProc(ctx.S(p), c));
        const prev = ctx.pickBest(viaPrevious);
        const sp = prev === undefined ? undefined : ctx.parent[prev];
        if (sp !== undefined && sp !== null && ctx.covers(sp, i, tol)) linked = linkLegacy(sp, CONFIDENCE.syscallChained);
        if (!linked && c.syscallTraceIdResp) {
          const tail = (spByResp.get(`${c.hostId}|${c.syscallTraceIdResp}`) ?? []).filter((x) => ctx.sameProc(ctx.S(x), c) && ctx.covers(x, i, tol));
          const t = ctx.pickBest(tail);
          if (t !== undefined) linked = linkLegacy(t, CONFIDENCE.syscallChained);
        }
      }
      if (linked) {
        if (c.syscallTraceIdResp) push(legacyByResp, `${c.hostId}|${c.processId}|${c.syscallTraceIdResp}`, i);
        if (c.syscallTraceIdReq) push(legacyByReq, `${c.hostId}|${c.processId}|${c.syscallTraceIdReq}`, i);
      }
    }
  },
};
