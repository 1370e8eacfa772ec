/**
 * @module `GET /api/v1/traces/{traceId}/columns`: the assembled trace as columns
 * (trace-columns.ts), the web UI's format. Same ids as `/api/v1/traces/{traceId}` (trace id,
 * span id, SkyWalking trace id), same errors, same `truncated` flag.
 *
 * Large answers are gzipped when the client accepts it and is not on this machine: the columns of
 * a 10k-span trace are 2 MB or more of JSON that compresses about sevenfold, and gzip at a low
 * level runs on the thread pool, off the event loop; over loopback it would only cost CPU (13 MB
 * took 1.8 s to compress at load 23). Small answers go as they are.
 *
 * A `Server-Timing` header says where the server's time went (`load`: the link-key walk and
 * the assembly; `encode`: ApiSpans, columns and JSON; `gzip`), so the browser's resource timing
 * (and the UI benchmark) can tell the server's share of a slow trace from the page's.
 */
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import { installQueryErrorHandler, traceNotFound } from './query-errors.js';
import { requestBudget, type QueryContext } from './query-context.js';
import { traceColumnsOf } from './trace-columns.js';

/** Below this many bytes an answer is sent uncompressed (compression would save little). */
const GZIP_MIN_BYTES = 32 * 1024;
/** zlib level 1: most of the size win for a fraction of level 6's CPU on repetitive JSON. */
const GZIP_LEVEL = 1;
const gzipAsync = promisify(gzip);

/** A client on this machine: compressing for it costs the server CPU and saves nothing. */
function isLoopback(address: string | undefined): boolean {
  return address === '::1' || address?.startsWith('127.') === true || address?.startsWith('::ffff:127.') === true;
}

function acceptsGzip(header: string | string[] | undefined): boolean {
  const v = Array.isArray(header) ? header.join(',') : (header ?? '');
  return v.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

export function traceColumnsApi(ctx: QueryContext): FastifyPluginAsync {
  const encoded = new WeakMap<object, string>();
  return async (app) => {
    installQueryErrorHandler(app, (e) => ({ error: { code: e.code, message: e.message } }));
    app.get<{ Params: { traceId: string } }>('/api/v1/traces/:traceId/columns', async (req, reply) => {
      const t0 = performance.now();
      // The same time budget as every trace read: stops at --query-timeout or when the client goes.
      const trace = await ctx.traces.load(req.params.traceId, requestBudget(ctx, reply));
      if (trace === null || trace.nodes.length === 0) throw traceNotFound(req.params.traceId);
      const t1 = performance.now();
      // A trace the loader kept (trace-cache.ts) is the same object on the next ask: its
      // encoded answer is kept with it, for as long as the trace is.
      let body = encoded.get(trace);
      if (body === undefined) {
        body = JSON.stringify(traceColumnsOf(trace, trace.truncated === true));
        encoded.set(trace, body);
      }
      const t2 = performance.now();
      const timing = `load;dur=${(t1 - t0).toFixed(1)}, encode;dur=${(t2 - t1).toFixed(1)}`;
      void reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
      if (body.length < GZIP_MIN_BYTES || isLoopback(req.socket.remoteAddress) || !acceptsGzip(req.headers['accept-encoding'])) return reply.header('server-timing', timing).send(body);
      const packed = await gzipAsync(body, { level: GZIP_LEVEL, strategy: constants.Z_DEFAULT_STRATEGY });
      return reply
        .header('server-timing', `${timing}, gzip;dur=${(performance.now() - t2).toFixed(1)}`)
        .header('content-encoding', 'gzip')
        .send(packed);
    });
  };
}
