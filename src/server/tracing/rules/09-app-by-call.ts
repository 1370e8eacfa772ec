/**
 * @module Rule 09, s-app by the call it made: an unparented s-app (its agent started a new trace:
 * SkyWalking without an incoming sw8, OTel without a traceparent) goes under the s-p of its
 * process whose request-side syscall id a c-p of this app trace took (DeepFlow's rule 3b: the
 * thread that received the request made the call the app span describes).
 *
 * This is the rule that joins two different trace ids, and it says why: the app's own c-p
 * served that s-p. It needs that c-p's link to be certain, so an agent's `ambiguous` or `none`
 * call (syscall id 0) never qualifies.
 */
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const appByCall: LinkRule = {
  name: '09-app-by-call',
  apply(ctx: AssemblyContext): void {
    const bySpanId = ctx.bySpanId();
    const spByReq = ctx.spBySyscallReq();
    const tol = ctx.tol.networkDelayNano + ctx.tol.hostClockOffsetNano;
    // The c-ps that carry an APP span id as their header parent, by that APP span's trace id:
    // built once, so each s-app looks at its own trace's calls only.
    const callsByAppTrace = new Map<string, number[]>();
    for (const j of ctx.clientProcesses()) {
      const c = ctx.S(j);
      if (!c.parentSpanId || !c.syscallTraceIdReq) continue;
      const traces = new Set((bySpanId.get(c.parentSpanId) ?? []).filter((x) => ctx.S(x).source === 'app').map((x) => ctx.S(x).traceId));
      for (const t of traces) {
        const l = callsByAppTrace.get(t);
        if (l) l.push(j);
        else callsByAppTrace.set(t, [j]);
      }
    }
    for (let i = 0; i < ctx.n; i++) {
      const a = ctx.S(i);
      if (a.source !== 'app' || a.observationPoint !== 's-app' || ctx.parent[i] !== null || !a.traceId) continue;
      const found = new Set<number>();
      for (const j of callsByAppTrace.get(a.traceId) ?? []) {
        const c = ctx.S(j);
        for (const sp of spByReq.get(`${c.hostId}|${c.syscallTraceIdReq}`) ?? []) {
          if (ctx.sameProc(ctx.S(sp), c) && ctx.covers(sp, i, tol)) found.add(sp);
        }
      }
      if (found.size === 1) ctx.link(i, [...found][0] as number, 'syscall', CONFIDENCE.syscallChained);
      else for (const sp of found) ctx.possible(i, sp, 'syscall', CONFIDENCE.syscallChained / found.size, `${found.size} requests of its process match the calls it made`);
    }
  },
};
