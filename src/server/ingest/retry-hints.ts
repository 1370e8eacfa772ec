/**
 * @module Retry hints on every refusal a client should retry: `Retry-After` on HTTP 429/503, and
 * on gRPC RESOURCE_EXHAUSTED/UNAVAILABLE a `google.rpc.RetryInfo` in the status details
 * (`grpc-status-details-bin`) plus grpc-js's `grpc-retry-pushback-ms`.
 *
 * The OTLP spec says a client must not retry RESOURCE_EXHAUSTED unless the status carries
 * RetryInfo, so without it spec-following SDKs drop the batch. The hint is the error's own
 * `retryAfterMs` when it has one (the pipeline estimates its drain time), else a second.
 */
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import protobuf from 'protobufjs';
import { isTracingError } from '../../model/index.js';

export const DEFAULT_RETRY_AFTER_MS = 1_000;
const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** Statuses a client should retry after a pause. */
export function isRetryStatus(status: number): boolean {
  return status === 429 || status === 503;
}

/** The hint for an error, ms: its own when it carries one, else the default. */
export function retryAfterMsOf(err: unknown): number {
  return isTracingError(err) && err.retryAfterMs !== undefined && err.retryAfterMs > 0 ? err.retryAfterMs : DEFAULT_RETRY_AFTER_MS;
}

/** Retry-After takes whole seconds; never 0, which some clients read as "at once, forever". */
export function retryAfterHeader(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/**
 * Adds `Retry-After` to every 429/503 this instance sends that has none yet: the receivers' own
 * refusals, the auth hook's, the memory guard's and the shutdown refusal alike.
 */
export function installRetryAfter(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    if (isRetryStatus(reply.statusCode) && !reply.hasHeader('retry-after')) void reply.header('retry-after', retryAfterHeader(DEFAULT_RETRY_AFTER_MS));
    return payload;
  });
}

/** `google.rpc.Status{code, message, details:[Any(RetryInfo{retry_delay})]}` in protobuf. */
export function encodeRetryStatus(code: number, message: string, retryAfterMs: number): Buffer {
  const seconds = Math.floor(retryAfterMs / 1000);
  const nanos = Math.round((retryAfterMs - seconds * 1000) * 1e6);
  const duration = protobuf.Writer.create();
  if (seconds > 0) duration.uint32(8).int64(seconds);
  if (nanos > 0) duration.uint32(16).int32(nanos);
  const retryInfo = protobuf.Writer.create().uint32(10).bytes(duration.finish()).finish();
  const any = protobuf.Writer.create().uint32(10).string(RETRY_INFO_TYPE_URL).uint32(18).bytes(retryInfo).finish();
  const status = protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(any).finish();
  return Buffer.from(status);
}

/** Reads the retry delay (ms) from a `grpc-status-details-bin` value; null when it has none. */
export function decodeRetryDelayMs(statusDetails: Uint8Array): number | null {
  const status = protobuf.Reader.create(statusDetails);
  let found: number | null = null;
  while (status.pos < status.len) {
    const tag = status.uint32();
    if (tag >>> 3 !== 3 || (tag & 7) !== 2) {
      status.skipType(tag & 7);
      continue;
    }
    const any = protobuf.Reader.create(status.bytes());
    let typeUrl = '';
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const t = any.uint32();
      if (t === 10) typeUrl = any.string();
      else if (t === 18) value = any.bytes();
      else any.skipType(t & 7);
    }
    if (typeUrl !== RETRY_INFO_TYPE_URL) continue;
    const info = protobuf.Reader.create(value);
    while (info.pos < info.len) {
      const t = info.uint32();
      if (t !== 10) {
        info.skipType(t & 7);
        continue;
      }
      const d = protobuf.Reader.create(info.bytes());
      let seconds = 0;
      let nanos = 0;
      while (d.pos < d.len) {
        const u = d.uint32();
        if (u === 8) seconds = Number(d.int64());
        else if (u === 16) nanos = d.int32();
        else d.skipType(u & 7);
      }
      found = seconds * 1000 + nanos / 1e6;
    }
  }
  return found;
}

/**
 * The trailers of a retryable gRPC refusal: RetryInfo for OTLP clients, the pushback for grpc-js
 * clients that run a retry policy.
 */
export function retryMetadata(code: grpc.status, message: string, retryAfterMs: number): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('grpc-status-details-bin', encodeRetryStatus(code, message, retryAfterMs));
  md.set('grpc-retry-pushback-ms', String(Math.round(retryAfterMs)));
  return md;
}
