/**
 * @module The HTTP receivers as Fastify plugins: OTLP /v1/traces, Zipkin /api/v2/spans,
 * SkyWalking /v3/segment(s).
 *
 * Each is registered on its own Fastify instance (one per port) by the composition, which also
 * adds the Bearer-token hook. Each plugin owns its content-type parsers and error handler.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ConvertResult } from '../../apm/convert-result.js';
import { decodeOtlpJsonSteps, decodeOtlpProtobufSteps, exportResponseType } from '../../apm/otlp/index.js';
import { decodeSkyWalkingJsonSteps } from '../../apm/skywalking/index.js';
import { decodeZipkinJsonSteps } from '../../apm/zipkin/index.js';
import { AGENT_METRICS_PATH, TracingError } from '../../model/index.js';
import { decodeInTurns } from './decode-turns.js';
import { installBodyParsers, installErrorHandler, sinkFailure } from './receiver-errors.js';
import type { ReceiverOptions } from './receiver-options.js';

const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';

async function store(opts: ReceiverOptions, result: ConvertResult): Promise<void> {
  if (result.spans.length === 0) return;
  try {
    await opts.sink.submit(result.spans);
  } catch (err) {
    throw sinkFailure(err);
  }
}

function bodyOf(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function isProtobuf(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith(PROTOBUF_TYPE);
}

function errorSummary(result: ConvertResult): string {
  return `${result.rejected} span(s) rejected: ${result.errors.join('; ')}`;
}

/** All spans of a non-empty batch rejected: a 400 for formats without partial success. */
function allRejected(result: ConvertResult): TracingError | null {
  return result.spans.length === 0 && result.rejected > 0
    ? new TracingError('TRC_INGEST_MALFORMED', errorSummary(result), { httpStatus: 400 })
    : null;
}

/** OTLP/HTTP `POST /v1/traces`: protobuf or JSON, gzip allowed, answered in the request's encoding. */
export const otlpHttpReceiver: FastifyPluginAsync<ReceiverOptions> = async (app, opts) => {
  installBodyParsers(app, [PROTOBUF_TYPE, JSON_TYPE], opts.maxBodyBytes, opts.budget);
  installErrorHandler(app, [PROTOBUF_TYPE, JSON_TYPE]);
  app.post('/v1/traces', { bodyLimit: opts.maxBodyBytes }, async (req: FastifyRequest, reply: FastifyReply) => {
    const proto = isProtobuf(req);
    // Decoding is the request's CPU-heavy part: it runs in steps of a few dozen spans in the CPU
    // queue's turns (cpu-turns.ts), so neither many bodies nor one large one hold the loop.
    const raw = bodyOf(req);
    const result = await decodeInTurns(proto ? decodeOtlpProtobufSteps(raw) : decodeOtlpJsonSteps(raw));
    await store(opts, result);
    const partial = result.rejected > 0 ? { rejectedSpans: result.rejected, errorMessage: errorSummary(result) } : undefined;
    if (proto) {
      const bytes = exportResponseType().encode(partial ? { partialSuccess: partial } : {}).finish();
      return reply.code(200).type(PROTOBUF_TYPE).send(Buffer.from(bytes));
    }
    // OTLP/JSON writes int64 as a decimal string.
    const body = partial ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {};
    return reply.code(200).type(JSON_TYPE).send(body);
  });
  const agentMetrics = opts.agentMetrics;
  if (agentMetrics) {
    // Remote agents post their counters to the port they ship spans to (see AGENT_METRICS_PATH).
    app.post(AGENT_METRICS_PATH, { bodyLimit: opts.maxBodyBytes }, async (req, reply) => {
      if (isProtobuf(req)) throw new TracingError('TRC_INGEST_CONTENT_TYPE', `${AGENT_METRICS_PATH} takes ${JSON_TYPE}`, { httpStatus: 415 });
      agentMetrics.record(bodyOf(req));
      return reply.code(204).send();
    });
  }
};

/** Zipkin v2 `POST /api/v2/spans` (JSON). 202 when stored; the body says what was rejected. */
export const zipkinReceiver: FastifyPluginAsync<ReceiverOptions> = async (app, opts) => {
  installBodyParsers(app, [JSON_TYPE], opts.maxBodyBytes, opts.budget);
  installErrorHandler(app, [JSON_TYPE]);
  app.post('/api/v2/spans', { bodyLimit: opts.maxBodyBytes }, async (req, reply) => {
    const body = bodyOf(req);
    const result = await decodeInTurns(decodeZipkinJsonSteps(body));
    const none = allRejected(result);
    if (none) throw none;
    await store(opts, result);
    return reply.code(202).type(JSON_TYPE).send(result.rejected > 0 ? { rejectedSpans: result.rejected, errors: result.errors } : {});
  });
};

/** SkyWalking HTTP `POST /v3/segment` (one segment) and `/v3/segments` (array). */
export const skywalkingHttpReceiver: FastifyPluginAsync<ReceiverOptions> = async (app, opts) => {
  installBodyParsers(app, [JSON_TYPE], opts.maxBodyBytes, opts.budget);
  installErrorHandler(app, [JSON_TYPE]);
  for (const [path, shape] of [
    ['/v3/segment', 'one'],
    ['/v3/segments', 'many'],
  ] as const) {
    app.post(path, { bodyLimit: opts.maxBodyBytes }, async (req, reply) => {
      const body = bodyOf(req);
      const result = await decodeInTurns(decodeSkyWalkingJsonSteps(body, shape));
      const none = allRejected(result);
      if (none) throw none;
      await store(opts, result);
      return reply.code(200).type(JSON_TYPE).send(result.rejected > 0 ? { rejectedSpans: result.rejected, errors: result.errors } : {});
    });
  }
};
