/**
 * @module OTLP/gRPC transport: unary TraceService/Export with @grpc/grpc-js, gzip-compressed.
 *
 * The request is already serialized (the Serializer's protobuf bytes from the vendored
 * ExportTraceServiceRequest), so the method is declared with identity (de)serializers.
 * Retryable codes follow the OTLP spec's list (UNAVAILABLE, RESOURCE_EXHAUSTED, …).
 */
import * as grpc from '@grpc/grpc-js';
import { OTLP_EXPORT_METHOD_PATH } from '../apm/otlp/index.js';
import type { SendResult, Transport } from '../apm/otlp-transport/index.js';

/** OTLP spec, "OTLP/gRPC Throttling" and "Failures": these codes may succeed on retry. */
export const RETRYABLE_GRPC_CODES: ReadonlySet<grpc.status> = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
  grpc.status.RESOURCE_EXHAUSTED,
]);
/** grpc-js compression algorithm id for gzip. */
const GRPC_GZIP = 2;

export interface GrpcTransportOptions {
  /** `grpc://host:port` */
  url: string;
  headers?: Record<string, string>;
}

export function grpcTarget(url: string): string {
  const u = new URL(url);
  return `${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${u.port === '' ? '4317' : u.port}`;
}

export function createGrpcTransport(o: GrpcTransportOptions): Transport {
  const target = grpcTarget(o.url);
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': GRPC_GZIP });
  const identity = (b: Buffer): Buffer => b;
  return {
    send(bytes, timeoutMs) {
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(o.headers ?? {})) metadata.set(k.toLowerCase(), v);
      return new Promise<SendResult>((resolve) => {
        client.makeUnaryRequest<Buffer, Buffer>(
          OTLP_EXPORT_METHOD_PATH,
          identity,
          identity,
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          metadata,
          { deadline: Date.now() + timeoutMs },
          (err) => {
            if (!err) return resolve({ status: 'success' });
            const error = new Error(`OTLP/gRPC ${target}: ${grpc.status[err.code]} ${err.details}`, { cause: err });
            resolve(RETRYABLE_GRPC_CODES.has(err.code) ? { status: 'retryable', error } : { status: 'failure', error });
          },
        );
      });
    },
    shutdown() {
      client.close();
      return Promise.resolve();
    },
  };
}
