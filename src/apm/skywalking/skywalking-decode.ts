/**
 * @module SkyWalking v3 SegmentObjects (protobuf or HTTP JSON) → SpanRecords.
 *
 * Span ids become `{segmentId}-{spanId}`; a segment's first span takes its parent from the
 * first cross-segment ref (`{parentTraceSegmentId}-{parentSpanId}`). SkyWalking trace ids are
 * free-form strings, so the trace id is derived: a UUID or 32-hex id is used as is (dashes
 * removed), anything else becomes the first 128 bits of its SHA-256. The original is kept in
 * the `sw8.trace_id` attribute so a lookup by it can be answered later. Tags are renamed to
 * OTel keys and go through the shared semantic-convention mapping.
 */
import { createHash } from 'node:crypto';
import type protobuf from 'protobufjs';
import { TracingError, emptySpan, observationPointForKind } from '../../model/index.js';
import type { AttributeValue, SpanKind, SpanRecord } from '../../model/index.js';
import { ConvertCollector, convertInSteps, timeProblem } from '../convert-result.js';
import { parseJsonSteps } from '../json-steps.js';
import { runSteps } from '../steps.js';
import type { ConvertResult } from '../convert-result.js';
import { protoRoot } from '../proto-files.js';
import { applySemanticConventions } from '../semconv.js';
import { asArray, asObject, readBool, readEnum, readInt, readString, setOwn } from '../wire-values.js';

export const SW_SPAN_TYPES = ['Entry', 'Exit', 'Local'] as const;
export const SW_SPAN_LAYERS = ['Unknown', 'Database', 'RPCFramework', 'Http', 'MQ', 'Cache', 'FAAS'] as const;
export const SW_REF_TYPES = ['CrossProcess', 'CrossThread'] as const;
/** Attribute keeping SkyWalking's own trace id. */
export const SW_TRACE_ID_ATTR = 'sw8.trace_id';

const NS_PER_MS = 1_000_000n;
const KIND_BY_TYPE: readonly SpanKind[] = ['server', 'client', 'internal'];

function malformed(message: string, cause?: unknown): TracingError {
  return new TracingError('TRC_INGEST_MALFORMED', message, { httpStatus: 400, cause });
}

const traceIdCache = new Map<string, string>();
const TRACE_ID_CACHE_MAX = 4096;

/** The 32-hex trace id Weft uses for a SkyWalking trace id; '' for an empty one. */
export function skywalkingTraceIdToHex(swTraceId: string): string {
  if (swTraceId === '') return '';
  const stripped = swTraceId.toLowerCase().replaceAll('-', '');
  if (/^[0-9a-f]{32}$/.test(stripped) && !/^0+$/.test(stripped)) return stripped;
  let hex = traceIdCache.get(swTraceId);
  if (hex === undefined) {
    hex = createHash('sha256').update(swTraceId).digest('hex').slice(0, 32);
    if (traceIdCache.size >= TRACE_ID_CACHE_MAX) traceIdCache.clear();
    traceIdCache.set(swTraceId, hex);
  }
  return hex;
}

/** SkyWalking tag keys → OTel keys (the Java/Node agents' names). */
function renameTag(key: string, value: string, out: Record<string, AttributeValue>): void {
  switch (key) {
    case 'url':
      setOwn(out, value.startsWith('/') ? 'url.path' : 'url.full', value);
      return;
    case 'status_code':
    case 'http.status_code': {
      const n = Number(value);
      setOwn(out, 'http.response.status_code', Number.isInteger(n) ? n : value);
      return;
    }
    case 'db.type':
      // Java agents say "sql" for any JDBC database; the component id tells which one.
      setOwn(out, 'db.system', value.toLowerCase());
      return;
    case 'db.instance':
      setOwn(out, 'db.namespace', value);
      return;
    case 'cache.type':
      setOwn(out, 'db.system', value.toLowerCase());
      return;
    case 'cache.cmd':
    case 'cache.op':
      setOwn(out, 'db.operation', value);
      return;
    case 'mq.topic':
    case 'mq.queue':
      setOwn(out, 'messaging.destination.name', value);
      return;
    case 'mq.broker':
      setOwn(out, 'server.address', value);
      return;
    case 'x-request-id':
      setOwn(out, 'http.request.header.x-request-id', value);
      return;
    default:
      setOwn(out, key, value);
  }
}

function splitHostPort(peer: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(peer);
  if (m?.[1] !== undefined && m[2] !== undefined) return { host: m[1], port: Number(m[2]) };
  return { host: peer, port: 0 };
}

function convertSegment(seg: Record<string, unknown>, c: ConvertCollector): void {
  const segmentId = readString(seg.traceSegmentId);
  const swTraceId = readString(seg.traceId);
  const spans = asArray(seg.spans);
  if (segmentId === '') {
    for (let i = 0; i < Math.max(1, spans.length); i++) c.reject('segment without traceSegmentId');
    return;
  }
  const traceId = skywalkingTraceIdToHex(swTraceId);
  const service = readString(seg.service);
  const instance = readString(seg.serviceInstance);
  for (const raw of spans) {
    const sp = asObject(raw);
    const localId = readInt(sp.spanId);
    const label = `segment ${segmentId.slice(0, 60)} span ${String(localId)}`;
    if (localId === null || localId < 0) {
      c.reject(`${label}: missing or negative spanId`);
      continue;
    }
    if (traceId === '') {
      c.reject(`${label}: missing traceId`);
      continue;
    }
    const startMs = readInt(sp.startTime);
    const endMs = readInt(sp.endTime);
    const start = startMs === null ? 0n : BigInt(startMs) * NS_PER_MS;
    const end = endMs === null ? 0n : BigInt(endMs) * NS_PER_MS;
    const bad = timeProblem(start, end);
    if (bad !== null) {
      c.reject(`${label}: ${bad}`);
      continue;
    }
    const spanType = readEnum(sp.spanType, SW_SPAN_TYPES);
    const kind = KIND_BY_TYPE[spanType] ?? 'internal';
    const span: SpanRecord = emptySpan({ source: 'app', origin: 'skywalking', observationPoint: observationPointForKind(kind) });
    span.traceId = traceId;
    span.spanId = `${segmentId}-${localId}`;
    span.kind = kind;
    span.name = readString(sp.operationName);
    span.service = service;
    if (instance !== '') span.resource['service.instance.id'] = instance;
    span.startTimeUnixNano = start;
    span.endTimeUnixNano = end;
    if (readBool(sp.isError)) span.statusCode = 'error';

    const attrs: Record<string, AttributeValue> = {};
    attrs[SW_TRACE_ID_ATTR] = swTraceId;
    attrs['sw.segment_id'] = segmentId;
    const layer = SW_SPAN_LAYERS[readEnum(sp.spanLayer, SW_SPAN_LAYERS)] ?? 'Unknown';
    attrs['sw.layer'] = layer;
    const componentId = readInt(sp.componentId);
    if (componentId !== null) attrs['sw.component_id'] = componentId;
    const peer = readString(sp.peer);
    if (peer !== '') attrs['sw.peer'] = peer;
    for (const t of asArray(sp.tags)) {
      const to = asObject(t);
      const key = readString(to.key);
      if (key !== '') renameTag(key, readString(to.value), attrs);
    }

    const parentLocal = readInt(sp.parentSpanId) ?? -1;
    const refs = asArray(sp.refs).map(asObject);
    if (parentLocal >= 0) {
      span.parentSpanId = `${segmentId}-${parentLocal}`;
    } else if (refs[0] !== undefined) {
      const ref = refs[0];
      const parentSeg = readString(ref.parentTraceSegmentId);
      const parentSpan = readInt(ref.parentSpanId);
      if (parentSeg !== '' && parentSpan !== null && parentSpan >= 0) span.parentSpanId = `${parentSeg}-${parentSpan}`;
      attrs['sw.ref.type'] = SW_REF_TYPES[readEnum(ref.refType, SW_REF_TYPES)] ?? 'CrossProcess';
      const addr = readString(ref.networkAddressUsedAtPeer);
      if (addr !== '') attrs['sw.ref.network_address'] = addr;
      const ps = readString(ref.parentService);
      if (ps !== '') attrs['sw.ref.parent_service'] = ps;
      const pe = readString(ref.parentEndpoint);
      if (pe !== '') attrs['sw.ref.parent_endpoint'] = pe;
    }
    if (refs.length > 1) {
      attrs['sw.refs'] = JSON.stringify(
        refs.map((r) => ({ parentTraceSegmentId: readString(r.parentTraceSegmentId), parentSpanId: readInt(r.parentSpanId) })),
      );
    }

    for (const l of asArray(sp.logs)) {
      const lo = asObject(l);
      const t = readInt(lo.time);
      const data: Record<string, AttributeValue> = {};
      for (const d of asArray(lo.data)) {
        const dobj = asObject(d);
        setOwn(data, readString(dobj.key), readString(dobj.value));
      }
      const eventName = data.event;
      span.events.push({ timeUnixNano: t === null ? 0n : BigInt(t) * NS_PER_MS, name: typeof eventName === 'string' ? eventName : 'log', attributes: data });
    }

    applySemanticConventions(span, attrs);
    if (layer === 'Http' && span.protocol === '') span.protocol = 'http';
    if (peer !== '') {
      const { host, port } = splitHostPort(peer);
      if (span.requestDomain === '') span.requestDomain = host;
      if (kind === 'client' && span.serverPort === 0) span.serverPort = port;
    }
    c.keep(span);
  }
}

/** Converts segments (decoded protobuf messages or parsed JSON objects, enum names or numbers). */
export function convertSkyWalkingSegments(segments: readonly unknown[]): ConvertResult {
  const c = new ConvertCollector();
  for (const seg of segments) {
    if (typeof seg !== 'object' || seg === null || Array.isArray(seg)) {
      c.reject('segment is not an object');
      continue;
    }
    convertSegment(seg as Record<string, unknown>, c);
  }
  return c.result();
}

/**
 * Parses the HTTP JSON body of /v3/segment (one object) or /v3/segments (array).
 * Throws TRC_INGEST_MALFORMED on bad JSON or the wrong top-level shape.
 */
export function decodeSkyWalkingJson(body: string | Uint8Array, shape: 'one' | 'many'): ConvertResult {
  return runSteps(decodeSkyWalkingJsonSteps(body, shape));
}

/** decodeSkyWalkingJson in steps: the parse (json-steps.ts) and the conversion, 16 segments a step. */
export function* decodeSkyWalkingJsonSteps(body: string | Uint8Array, shape: 'one' | 'many'): Generator<void, ConvertResult, undefined> {
  let parsed: unknown;
  try {
    parsed = yield* parseJsonSteps(typeof body === 'string' ? Buffer.from(body) : body);
  } catch (err) {
    throw malformed(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (shape === 'many') {
    if (!Array.isArray(parsed)) throw malformed('/v3/segments expects a JSON array of segments');
    return yield* convertInSteps(parsed, convertSkyWalkingSegments, 16);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed('/v3/segment expects one JSON segment object');
  }
  return convertSkyWalkingSegments([parsed]);
}

let segmentType: protobuf.Type | undefined;
let collectionType: protobuf.Type | undefined;

function types(): { segment: protobuf.Type; collection: protobuf.Type } {
  segmentType ??= protoRoot().lookupType('skywalking.v3.SegmentObject');
  collectionType ??= protoRoot().lookupType('skywalking.v3.SegmentCollection');
  return { segment: segmentType, collection: collectionType };
}

/** Decodes one protobuf SegmentObject. Throws TRC_INGEST_MALFORMED on bad bytes. */
export function decodeSkyWalkingSegmentProto(bytes: Uint8Array): unknown {
  try {
    return types().segment.decode(bytes);
  } catch (err) {
    throw malformed(`invalid SkyWalking SegmentObject: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

/** Decodes a protobuf SegmentCollection into its segments. Throws TRC_INGEST_MALFORMED on bad bytes. */
export function decodeSkyWalkingCollectionProto(bytes: Uint8Array): unknown[] {
  try {
    return asArray(asObject(types().collection.decode(bytes)).segments);
  } catch (err) {
    throw malformed(`invalid SkyWalking SegmentCollection: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

/** Encodes the (empty) Commands reply of collect/collectInSync. */
export function encodeSkyWalkingCommands(): Uint8Array {
  return protoRoot().lookupType('skywalking.v3.Commands').encode({ commands: [] }).finish();
}

/** Encodes segments to protobuf (tests and clients). */
export function encodeSkyWalkingSegment(segment: Record<string, unknown>): Uint8Array {
  const t = types().segment;
  return t.encode(t.fromObject(segment)).finish();
}
