/**
 * @module SkyWalking segments → SpanRecord: the public surface of src/apm/skywalking.
 */
export {
  convertSkyWalkingSegments,
  decodeSkyWalkingCollectionProto,
  decodeSkyWalkingJson,
  decodeSkyWalkingJsonSteps,
  decodeSkyWalkingSegmentProto,
  encodeSkyWalkingCommands,
  encodeSkyWalkingSegment,
  skywalkingTraceIdToHex,
  SW_TRACE_ID_ATTR,
} from './skywalking-decode.js';
