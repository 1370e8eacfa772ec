/**
 * @module Rule 06, proxy header: a c-p that sends the very trace header (trace id and parent span
 * id) that an s-p of its process received, and that the s-p covers, is a proxy passing the header
 * on: it goes under that s-p when exactly one request of the process carried the header. Several
 * (a client reusing one traceparent) are possible parents only.
 *
 * It runs after the syscall and same-side X-Request-ID rules, so a thread's certain evidence
 * speaks first; it is what links an event-driven proxy (nginx, envoy) under concurrency when no
 * X-Request-ID is set. Certain: the header names one request.
 */
import { CONFIDENCE, type AssemblyContext, type LinkRule } from './context.js';

export const proxyHeader: LinkRule = {
  name: '06-proxy-header',
  apply(ctx: AssemblyContext): void {
    const spByParent = ctx.spByParentSpanId();
    for (const i of ctx.clientProcesses()) {
      const c = ctx.S(i);
      if (ctx.parent[i] !== null || !c.parentSpanId || !ctx.chainHead(i)) continue;
      const from = (spByParent.get(c.parentSpanId) ?? []).filter(
        (sp) => ctx.sameProc(ctx.S(sp), c) && ctx.S(sp).traceId === c.traceId && ctx.covers(sp, i, ctx.tol.networkDelayNano),
      );
      if (from.length === 1) ctx.link(i, from[0] as number, 'span_id', CONFIDENCE.proxyForward);
      else for (const sp of from) ctx.possible(i, sp, 'span_id', CONFIDENCE.proxyForward / from.length, `${from.length} requests of this process received the same trace header`);
    }
  },
};
