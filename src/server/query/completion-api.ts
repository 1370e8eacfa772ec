/**
 * @module Trace Completion API (integration 3): an APM posts its APP spans and gets back the SYS
 * and NET spans around them, each with its parent and the reason for it.
 *
 * - `POST /api/v1/trace-completion`: Weft's camelCase shapes.
 * - `POST /v1/stats/querier/tracing-completion-by-external-app-spans`: DeepFlow's request and
 *   response shapes, so an APM already integrated with DeepFlow works unchanged.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { SpanReader } from '../store/index.js';
import type { CollectLimits } from '../tracing/collect.js';
import {
  completeTrace,
  findCompletionCandidates,
  parseCompletionRequest,
  parseDeepflowCompletionRequest,
  toCompletionResponse,
  toDeepflowCompletionResponse,
  type CompletionRequest,
} from '../tracing/completion.js';
import { queryErrorOf } from './query-errors.js';

export interface CompletionApiOptions {
  reader: SpanReader;
  limits: CollectLimits;
}

export const completionApi: FastifyPluginAsync<CompletionApiOptions> = async (app, options) => {
  async function run(req: CompletionRequest) {
    const candidates = await findCompletionCandidates(options.reader, req.appSpans, options.limits);
    const result = completeTrace(req.appSpans, candidates.spans, req.tolerances);
    result.warnings.unshift(...candidates.warnings);
    return result;
  }

  app.post('/api/v1/trace-completion', async (request, reply) => {
    try {
      return toCompletionResponse(await run(parseCompletionRequest(request.body)));
    } catch (err) {
      const e = queryErrorOf(err);
      if (e.status >= 500) request.log.error({ err }, 'trace completion failed');
      return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
    }
  });

  app.post('/v1/stats/querier/tracing-completion-by-external-app-spans', async (request, reply) => {
    try {
      return toDeepflowCompletionResponse(await run(parseDeepflowCompletionRequest(request.body)));
    } catch (err) {
      const e = queryErrorOf(err);
      if (e.status >= 500) request.log.error({ err }, 'trace completion failed');
      // DeepFlow's envelope for failures.
      return reply.code(e.status).send({ OPT_STATUS: e.status >= 500 ? 'SERVER_ERROR' : 'INVALID_PARAMETERS', DESCRIPTION: e.message, DATA: null });
    }
  });
};
