/**
 * @module protobufjs types of the OTLP trace service, from the vendored official .proto files.
 */
import type protobuf from 'protobufjs';
import { protoRoot } from '../proto-files.js';

let request: protobuf.Type | undefined;
let response: protobuf.Type | undefined;

export function exportRequestType(): protobuf.Type {
  request ??= protoRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  return request;
}

export function exportResponseType(): protobuf.Type {
  response ??= protoRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  return response;
}

/** Full gRPC method path of TraceService/Export. */
export const OTLP_EXPORT_METHOD_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
