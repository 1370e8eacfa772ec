/**
 * @module The gRPC receivers: OTLP TraceService/Export and SkyWalking TraceSegmentReportService.
 *
 * Services are declared with raw-bytes (de)serializers and decoded here with protobufjs over
 * the vendored .proto files, so that a malformed message becomes INVALID_ARGUMENT with a reason
 * instead of a generic deserialization failure. Message size is capped by grpc-js
 * (`grpc.max_receive_message_length` = maxBodyBytes → RESOURCE_EXHAUSTED beyond it).
 */
import * as grpc from '@grpc/grpc-js';
import type { ConvertResult } from '../../apm/convert-result.js';
import { decodeOtlpProtobufSteps, exportResponseType, OTLP_EXPORT_METHOD_PATH } from '../../apm/otlp/index.js';
import {
  convertSkyWalkingSegments,
  decodeSkyWalkingCollectionProto,
  decodeSkyWalkingSegmentProto,
  encodeSkyWalkingCommands,
} from '../../apm/skywalking/index.js';
import { isTracingError } from '../../model/index.js';
import type { SpanRecord } from '../../model/index.js';
import { tokenInHeaders } from '../auth.js';
import { oneStep } from '../../apm/steps.js';
import { decodeInTurns } from './decode-turns.js';
import { grpcStatusOf, sinkFailure } from './receiver-errors.js';
import { retryAfterMsOf, retryMetadata } from './retry-hints.js';
import { BODY_MEMORY_FACTOR, memoryRefusal } from './memory-budget.js';
import type { GrpcReceiverHandle, GrpcReceiverOptions } from './receiver-options.js';

const SW_SERVICE = '/skywalking.v3.TraceSegmentReportService';
/** Spans gathered from a collect stream before they are submitted. */
const SW_STREAM_BATCH_SPANS = 1024;
/** How long close() lets running calls finish before cancelling them. */
const SHUTDOWN_GRACE_MS = 2000;

const identity = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function method(path: string, requestStream: boolean): grpc.MethodDefinition<Buffer, Uint8Array> {
  return {
    path,
    requestStream,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: toBuffer,
    responseDeserialize: identity,
  };
}

/**
 * The gRPC error for a failure. A retryable refusal (overload, memory, store down) carries
 * RetryInfo: without it the OTLP spec forbids retrying RESOURCE_EXHAUSTED and the batch is lost.
 * A 413 (a batch that can never fit) is RESOURCE_EXHAUSTED without RetryInfo: do not retry.
 */
function errorOf(err: unknown): grpc.ServiceError {
  const e = new Error(err instanceof Error ? err.message : String(err)) as grpc.ServiceError;
  e.code = grpcStatusOf(err);
  e.details = e.message;
  if (isTracingError(err) && err.retryable && (e.code === grpc.status.RESOURCE_EXHAUSTED || e.code === grpc.status.UNAVAILABLE)) {
    e.metadata = retryMetadata(e.code, e.message, retryAfterMsOf(err));
  }
  return e;
}

function authorized(token: string | undefined, metadata: grpc.Metadata, skywalking = false): boolean {
  if (token === undefined || token === '') return true;
  const get = (name: string): string | undefined => {
    const v = metadata.get(name)[0];
    return v === undefined ? undefined : String(v);
  };
  return tokenInHeaders(get, token, { skywalking });
}

function unauthenticated(): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong token (Authorization: Bearer <token>; SkyWalking agents: Authentication: <token>)' };
}

/** Longest a gRPC listen may take before the start fails (TRC_SERVER_LISTEN). */
const BIND_TIMEOUT_MS = 15_000;

async function startServer(o: GrpcReceiverOptions, install: (server: grpc.Server) => void): Promise<GrpcReceiverHandle> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.maxBodyBytes,
  });
  install(server);
  const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
  const port = await new Promise<number>((resolve, reject) => {
    // Seen in the soak: after a kill -9 and restart on a loaded host, bindAsync never called back
    // and the server hung half-started. A bind that does not finish in time fails the start.
    const timer = setTimeout(() => {
      server.forceShutdown();
      reject(new Error(`binding ${host}:${o.port} did not finish within ${BIND_TIMEOUT_MS} ms`));
    }, BIND_TIMEOUT_MS);
    server.bindAsync(`${host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(p);
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}

/**
 * Holds the budget for one received message while it is decoded and stored; false (with the
 * refusal sent) when the server is at its memory budget. grpc-js has already buffered the
 * message, but refusing drops it at once instead of adding its decoded spans.
 */
function reserveMessage(o: GrpcReceiverOptions, bytes: number): { ok: boolean; release: () => void } {
  const budget = o.budget;
  if (!budget) return { ok: true, release: () => undefined };
  const cost = bytes * BODY_MEMORY_FACTOR;
  if (!budget.tryReserve(cost)) return { ok: false, release: () => undefined };
  let released = false;
  return {
    ok: true,
    release: () => {
      if (released) return;
      released = true;
      budget.release(cost);
    },
  };
}

async function submit(o: GrpcReceiverOptions, spans: SpanRecord[]): Promise<void> {
  if (spans.length === 0) return;
  try {
    await o.sink.submit(spans);
  } catch (err) {
    throw sinkFailure(err);
  }
}

/** OTLP gRPC `opentelemetry.proto.collector.trace.v1.TraceService/Export`. */
export async function startOtlpGrpcReceiver(o: GrpcReceiverOptions): Promise<GrpcReceiverHandle> {
  return startServer(o, (server) => {
    const def = { Export: method(OTLP_EXPORT_METHOD_PATH, false) } as grpc.ServiceDefinition;
    const exportCall: grpc.handleUnaryCall<Buffer, Uint8Array> = (call, callback) => {
      if (!authorized(o.token, call.metadata)) return callback(unauthenticated());
      // Overloaded: refuse before decoding (see IngestSink.refusalNow).
      const early = o.sink.refusalNow?.() ?? null;
      if (early) return callback(errorOf(early));
      const held = reserveMessage(o, call.request.length);
      if (!held.ok) return callback(errorOf(memoryRefusal(`a ${call.request.length}-byte message`)));
      // Decoding runs in steps in the CPU queue's turns (cpu-turns.ts), so neither a burst of
      // calls nor one large message holds the loop.
      let result: ConvertResult = { spans: [], rejected: 0, errors: [] };
      decodeInTurns(decodeOtlpProtobufSteps(call.request))
        .then((r) => {
          result = r;
          return submit(o, r.spans);
        })
        .finally(held.release)
        .then(
        () => {
          const partial =
            result.rejected > 0
              ? { partialSuccess: { rejectedSpans: result.rejected, errorMessage: `${result.rejected} span(s) rejected: ${result.errors.join('; ')}` } }
              : {};
          callback(null, exportResponseType().encode(partial).finish());
        },
        (err: unknown) => callback(errorOf(err)),
      );
    };
    server.addService(def, { Export: exportCall });
  });
}

/** SkyWalking gRPC `TraceSegmentReportService`: `collect` (client stream) and `collectInSync`. */
export async function startSkyWalkingGrpcReceiver(o: GrpcReceiverOptions): Promise<GrpcReceiverHandle> {
  return startServer(o, (server) => {
    const def = {
      collect: method(`${SW_SERVICE}/collect`, true),
      collectInSync: method(`${SW_SERVICE}/collectInSync`, false),
    } as grpc.ServiceDefinition;

    const collect: grpc.handleClientStreamingCall<Buffer, Uint8Array> = (call, callback) => {
      if (!authorized(o.token, call.metadata, true)) {
        call.destroy();
        return callback(unauthenticated());
      }
      let pending: SpanRecord[] = [];
      let firstError: unknown = null;
      let chain: Promise<void> = Promise.resolve();
      const flush = (): void => {
        if (pending.length === 0) return;
        const batch = pending;
        pending = [];
        call.pause();
        chain = chain
          .then(() => submit(o, batch))
          .catch((err: unknown) => {
            firstError ??= err;
          })
          .finally(() => call.resume());
      };
      call.on('data', (buf: Buffer) => {
        try {
          const result = convertSkyWalkingSegments([decodeSkyWalkingSegmentProto(buf)]);
          for (const s of result.spans) pending.push(s);
        } catch (err) {
          // One bad segment does not lose the others on the stream; the call still fails at the end.
          firstError ??= err;
        }
        if (pending.length >= SW_STREAM_BATCH_SPANS) flush();
      });
      call.on('error', () => {
        // The client went away; what was already submitted stays stored.
      });
      call.on('end', () => {
        flush();
        void chain.then(() => {
          if (firstError !== null) callback(errorOf(firstError));
          else callback(null, encodeSkyWalkingCommands());
        });
      });
    };

    const collectInSync: grpc.handleUnaryCall<Buffer, Uint8Array> = (call, callback) => {
      if (!authorized(o.token, call.metadata, true)) return callback(unauthenticated());
      const early = o.sink.refusalNow?.() ?? null;
      if (early) return callback(errorOf(early));
      const held = reserveMessage(o, call.request.length);
      if (!held.ok) return callback(errorOf(memoryRefusal(`a ${call.request.length}-byte message`)));
      decodeInTurns(oneStep(() => convertSkyWalkingSegments(decodeSkyWalkingCollectionProto(call.request))))
        .then((r) => submit(o, r.spans))
        .finally(held.release)
        .then(
        () => callback(null, encodeSkyWalkingCommands()),
        (err: unknown) => callback(errorOf(err)),
      );
    };
    server.addService(def, { collect, collectInSync });
  });
}
