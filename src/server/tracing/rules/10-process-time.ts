/**
 * @module Rule 10, process and time (weak): what is left unplaced and has only time to go by.
 *
 * - An s-app under the s-p covering it on its host/process, when exactly one does (by host and
 *   pid match). Several (concurrent requests) are possible parents only.
 * - A c-p of an older agent (no evidence attribute) under the s-p of its process covering it
 *   that has the same trace id; else under the only s-p of its process covering it. An agent
 *   that recorded evidence has decided already (rule 04), and time cannot do better: the spans
 *   assembly holds are one trace's, so "the only s-p covering it" here says nothing about the
 *   concurrent requests of other traces.
 */
import { linkEvidenceOf } from '../../../model/index.js';
import { appHost, appProcessId } from '../link-rules.js';
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const processTime: LinkRule = {
  name: '10-process-time',
  apply(ctx: AssemblyContext): void {
    const spByHost = ctx.spByHost();
    for (let i = 0; i < ctx.n; i++) {
      const a = ctx.S(i);
      if (a.source !== 'app' || a.observationPoint !== 's-app' || ctx.parent[i] !== null) continue;
      // hostScore > 0 needs the host (or, without one, the pid): an s-app naming its host looks there only.
      const host = appHost(a);
      // Only an s-p on its host or with its pid can score: those, not every s-p of the trace
      // (a 10k-span trace with 1,600 unplaced s-app spent a quadratic scan here).
      const pool = host && !appProcessId(a) ? (spByHost.get(host) ?? []) : ctx.spMatchingApp(a);
      const cands = pool.filter((sp) => !ctx.traceConflict(i, sp) && ctx.covers(sp, i, ctx.tol.networkDelayNano) && ctx.hostScore(a, ctx.S(sp)) > 0);
      const top = Math.max(-1, ...cands.map((c) => ctx.hostScore(a, ctx.S(c))));
      const best = cands.filter((c) => ctx.hostScore(a, ctx.S(c)) === top);
      if (best.length === 1) ctx.link(i, best[0] as number, 'process', CONFIDENCE.processTime);
      else if (best.length > 1) {
        for (const sp of best) ctx.possible(i, sp, 'process', CONFIDENCE.processTime / best.length, `${best.length} requests of its process were in progress`);
        ctx.ambiguous(i, `s-app ${ctx.label(i)} could belong to ${best.length} concurrent requests of its process; left unlinked`);
      }
    }
    for (const i of ctx.clientProcesses()) {
      if (ctx.parent[i] !== null || !ctx.chainHead(i)) continue;
      const c = ctx.S(i);
      if (linkEvidenceOf(c.attributes) !== null) continue;
      const cands = (spByHost.get(c.hostId) ?? []).filter((sp) => ctx.sameProc(ctx.S(sp), c) && ctx.covers(sp, i, ctx.tol.networkDelayNano));
      const byTrace = c.traceId ? cands.filter((sp) => ctx.S(sp).traceId === c.traceId) : [];
      if (byTrace.length > 0) {
        ctx.link(i, ctx.pickBest(byTrace) as number, 'trace_id', CONFIDENCE.traceIdTime);
      } else if (cands.length === 1) {
        const only = cands[0] as number;
        if (ctx.traceConflict(i, only)) ctx.possible(i, only, 'process', CONFIDENCE.processTime, 'the only request of its process in progress, but it carries another trace id');
        else ctx.link(i, only, 'process', CONFIDENCE.processTime);
      } else if (cands.length > 1) {
        for (const sp of cands) ctx.possible(i, sp, 'process', CONFIDENCE.processTime / cands.length, `${cands.length} requests of its process were in progress`);
        ctx.ambiguous(i, `c-p ${c.spanId || i} could belong to ${cands.length} concurrent requests of process ${c.processId} on ${c.hostId}; left unlinked`);
      }
    }
  },
};
