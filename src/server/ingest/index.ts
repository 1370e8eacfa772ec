/**
 * @module The receivers: the public surface of src/server/ingest.
 */
export type { IngestSink } from './ingest.js';
export type { GrpcReceiverHandle, GrpcReceiverOptions, ReceiverOptions } from './receiver-options.js';
export { otlpHttpReceiver, skywalkingHttpReceiver, zipkinReceiver } from './http-receivers.js';
export { startOtlpGrpcReceiver, startSkyWalkingGrpcReceiver } from './grpc-receivers.js';
export { createRemoteAgentMetrics, parseAgentMetricsReport } from './agent-metrics.js';
export type { RemoteAgentMetrics } from './agent-metrics.js';
