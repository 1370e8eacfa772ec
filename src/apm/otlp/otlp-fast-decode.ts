/**
 * @module The OTLP/protobuf hot path: ExportTraceServiceRequest bytes → span parts → SpanRecords
 * without building the protobufjs message tree.
 *
 * protobufjs' Reader does the wire reading; this module only walks fields. Resource and
 * InstrumentationScope (once per batch) go through the reflection types like the reference
 * decoder; Span, Event, Status, KeyValue and AnyValue (the per-span work) are walked here:
 * ids straight to hex, fixed64 times as two uint32 words, small int64s without Long, attribute
 * values straight to Weft values. Field semantics follow the protobufjs decoder (a repeated
 * singular field: last wins; AnyValue with several members: the same precedence as
 * otlp-values.ts), so results equal the reference path (proved by otlp-fast-decode.test.ts).
 * Malformed wire data throws (the caller maps it to 400). That includes a schema field sent with
 * the wrong wire type: protobufjs would read it by its schema type and walk off into garbage,
 * while skipping it by its wire type here would give a different span, so neither path may
 * accept it.
 */
import protobuf from 'protobufjs';
import type { AttributeValue, SpanEvent, SpanOrigin } from '../../model/index.js';
import { ConvertCollector } from '../convert-result.js';
import type { ConvertResult } from '../convert-result.js';
import { asObject, readString, setOwn } from '../wire-values.js';
import { keyValuesToRecord } from './otlp-values.js';
import { protoRoot } from '../proto-files.js';
import { finishOtlpSpan, splitServiceName } from './otlp-span-parts.js';
import type { OtlpSpanContext } from './otlp-span-parts.js';
import { WEFT_WARNINGS_KEY } from './weft-attributes.js';

type Reader = protobuf.Reader;

/**
 * Expected wire type per field number of one message (-1: not in the schema). Packable repeated
 * scalars accept the length-delimited form too (PACKABLE bit).
 */
type WireTable = Int8Array;
const PACKABLE = 8;

function wireTable(typeName: string): WireTable {
  const type = protoRoot().lookupType(typeName);
  const table = new Int8Array(type.fieldsArray.reduce((max, f) => Math.max(max, f.id), 0) + 1).fill(-1);
  for (const f of type.fieldsArray) {
    f.resolve();
    const basic = (protobuf.types.basic as Record<string, number | undefined>)[f.type];
    const wire = basic ?? (f.resolvedType instanceof protobuf.Enum ? 0 : 2);
    const packable = f.repeated && (protobuf.types.packed as Record<string, number | undefined>)[f.type] !== undefined;
    table[f.id] = packable ? wire | PACKABLE : wire;
  }
  return table;
}

type WireTables = Record<'request' | 'resourceSpans' | 'scopeSpans' | 'span' | 'event' | 'status' | 'keyValue' | 'anyValue' | 'arrayValue' | 'kvList', WireTable>;

/** The tables of the messages this module walks; built by the first decode. */
let W: WireTables;

function wireTables(): WireTables {
  return {
    request: wireTable('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    resourceSpans: wireTable('opentelemetry.proto.trace.v1.ResourceSpans'),
    scopeSpans: wireTable('opentelemetry.proto.trace.v1.ScopeSpans'),
    span: wireTable('opentelemetry.proto.trace.v1.Span'),
    event: wireTable('opentelemetry.proto.trace.v1.Span.Event'),
    status: wireTable('opentelemetry.proto.trace.v1.Status'),
    keyValue: wireTable('opentelemetry.proto.common.v1.KeyValue'),
    anyValue: wireTable('opentelemetry.proto.common.v1.AnyValue'),
    arrayValue: wireTable('opentelemetry.proto.common.v1.ArrayValue'),
    kvList: wireTable('opentelemetry.proto.common.v1.KeyValueList'),
  };
}

/** Reads a tag and returns its field number, after checking a schema field's wire type. */
function nextField(r: Reader, table: WireTable): number {
  const tag = r.uint32();
  const field = tag >>> 3;
  const want = field < table.length ? (table[field] as number) : -1;
  if (want >= 0) {
    const wire = tag & 7;
    if (wire !== (want & 7) && !((want & PACKABLE) !== 0 && wire === 2)) {
      throw new RangeError(`field ${field} has wire type ${wire}, the schema says ${want & 7}`);
    }
  }
  lastWire = tag & 7;
  return field;
}

/** Wire type of the tag nextField read last, for skipping fields the fast path does not use. */
let lastWire = 0;

let resourceType: protobuf.Type | undefined;
let scopeType: protobuf.Type | undefined;

/** Nesting beyond this depth reads as null, as in otlp-values.ts. */
const MAX_ANY_DEPTH = 16;

/** The request bytes as a Buffer view (no copy), for native hex encoding of ids. */
let hexView: Buffer = Buffer.alloc(0);

/** An id field: '' when empty or all zero, lowercase hex when `byteLength` long, else null. */
function readId(r: Reader, byteLength: number): string | null {
  const len = r.uint32();
  const start = r.pos;
  const end = start + len;
  if (end > r.len) throw new RangeError(`index out of range: ${start} + ${len} > ${r.len}`);
  r.pos = end;
  if (len === 0) return '';
  if (len !== byteLength) return null;
  const buf = r.buf;
  let i = start;
  while (i < end && buf[i] === 0) i++;
  // Native hex gives a flat string; building it from a byte table concatenates a rope.
  return i === end ? '' : hexView.toString('hex', start, end);
}

// fixed64 times within one request share their high word for seconds at a time; cache its bigint.
let cachedHigh = -1;
let cachedHighBig = 0n;

/** fixed64 as an unsigned bigint, read as two little-endian uint32 words (no Long). */
function readFixed64(r: Reader): bigint {
  const lo = r.fixed32();
  const hi = r.fixed32();
  if (hi === 0) return BigInt(lo);
  if (hi !== cachedHigh) {
    cachedHigh = hi;
    cachedHighBig = BigInt(hi) << 32n;
  }
  return cachedHighBig | BigInt(lo);
}

/** int64 varint as protobufjs' Long would give it, mapped like otlp-values.ts: safe number or decimal string. */
function readInt64(r: Reader): number | string {
  const buf = r.buf;
  let pos = r.pos;
  let value = 0;
  let scale = 1;
  // Up to 7 bytes (49 bits) is a positive safe integer: sum it as a double.
  for (let i = 0; i < 7 && pos < r.len; i++) {
    const b = buf[pos++] as number;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = pos;
      return value;
    }
    scale *= 128;
  }
  const long = r.int64();
  const big = BigInt.asIntN(64, (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0));
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big.toString();
}

// Attribute keys and short values repeat in every span of a batch. Reading them through a small
// cache returns the same string each time: no per-span utf8 decode, and the keys are already
// internalized when they are used as property names (a fresh string key costs a table lookup).
const CACHE_SLOTS = 1024;
const CACHE_MAX_BYTES = 40;
const cachedBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(CACHE_SLOTS).fill(undefined);
const cachedStrings: string[] = new Array<string>(CACHE_SLOTS).fill('');

/** A string field, through the cache when short. Decodes exactly as Reader.string() does. */
function readCachedString(r: Reader): string {
  const at = r.pos;
  const len = r.uint32();
  const start = r.pos;
  const end = start + len;
  if (len > CACHE_MAX_BYTES || end > r.len) {
    r.pos = at;
    return r.string();
  }
  if (len === 0) return '';
  const buf = r.buf;
  // A cheap hash of the length and four sampled bytes; the byte compare below settles collisions.
  const h = Math.imul(len, 0x9e3779b1) ^ (buf[start] as number) ^ ((buf[end - 1] as number) << 8) ^ ((buf[start + (len >> 1)] as number) << 16) ^ ((buf[start + (len >> 2)] as number) << 4);
  const slot = ((h >>> 0) ^ (h >>> 10)) & (CACHE_SLOTS - 1);
  const known = cachedBytes[slot];
  if (known !== undefined && known.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (known[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      r.pos = end;
      return cachedStrings[slot] as string;
    }
  }
  r.pos = at;
  const str = r.string();
  // A copy, never a view: the request buffer is reused (Buffer pool, socket buffers) after we return.
  const copy = new Uint8Array(len);
  for (let i = 0; i < len; i++) copy[i] = buf[start + i] as number;
  cachedBytes[slot] = copy;
  cachedStrings[slot] = str;
  return str;
}

/** A length-delimited field's end position, checked against the buffer. */
function messageEnd(r: Reader): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new RangeError(`index out of range: ${r.pos} + ${len} > ${r.len}`);
  return end;
}

/**
 * One AnyValue as the plain JS value otlp-values.ts' anyToPlain gives (null when empty). Nested
 * values past MAX_ANY_DEPTH are skipped unread (the reference decodes, then drops them).
 */
function readAnyValue(r: Reader, end: number, depth: number): unknown {
  if (depth > MAX_ANY_DEPTH) {
    r.pos = end;
    return null;
  }
  // Members seen, by precedence (string, bool, int, double, array, kvlist, bytes).
  let str: string | undefined;
  let bool: boolean | undefined;
  let int: number | string | undefined;
  let dbl: number | undefined;
  let arr: unknown[] | undefined;
  let kv: Record<string, unknown> | undefined;
  let bytes: Uint8Array | undefined;
  while (r.pos < end) {
    switch (nextField(r, W.anyValue)) {
      case 1:
        str = readCachedString(r);
        break;
      case 2:
        bool = r.bool();
        break;
      case 3:
        int = readInt64(r);
        break;
      case 4:
        dbl = r.double();
        break;
      case 5:
        arr = readArrayValue(r, messageEnd(r), depth);
        break;
      case 6:
        kv = readKeyValueList(r, messageEnd(r), depth);
        break;
      case 7:
        bytes = r.bytes();
        break;
      default:
        r.skipType(lastWire);
    }
  }
  if (str !== undefined) return str;
  if (bool !== undefined) return bool;
  if (int !== undefined) return int;
  if (dbl !== undefined) return dbl;
  if (arr !== undefined) return arr;
  if (kv !== undefined) return kv;
  if (bytes !== undefined) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return null;
}

function readArrayValue(r: Reader, end: number, depth: number): unknown[] {
  const out: unknown[] = [];
  while (r.pos < end) {
    if (nextField(r, W.arrayValue) === 1) {
      const e = messageEnd(r);
      out.push(readAnyValue(r, e, depth + 1));
      r.pos = e;
    } else r.skipType(lastWire);
  }
  r.pos = end;
  return out;
}

function readKeyValueList(r: Reader, end: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (r.pos < end) {
    if (nextField(r, W.kvList) === 1) {
      const e = messageEnd(r);
      let key = '';
      let value: unknown = null;
      while (r.pos < e) {
        const f = nextField(r, W.keyValue);
        if (f === 1) key = r.string();
        else if (f === 2) {
          const ve = messageEnd(r);
          value = readAnyValue(r, ve, depth + 1);
          r.pos = ve;
        } else r.skipType(lastWire);
      }
      r.pos = e;
      setOwn(out, key, value);
    } else r.skipType(lastWire);
  }
  r.pos = end;
  return out;
}

/** Plain value → attribute value, as otlp-values.ts' anyValueToAttribute. */
function toAttribute(plain: unknown): AttributeValue | undefined {
  if (plain === null) return undefined;
  if (typeof plain === 'string' || typeof plain === 'boolean') return plain;
  if (typeof plain === 'number') return Number.isFinite(plain) ? plain : String(plain);
  return JSON.stringify(plain);
}

/** Warnings of the last weft.warnings KeyValue seen (span attributes only). */
let lastWarnings: string[] | null = null;

/** One KeyValue into `out` (later duplicates win; empty values are skipped). */
function readKeyValue(r: Reader, end: number, out: Record<string, AttributeValue>, watchWarnings: boolean): void {
  let key = '';
  let plain: unknown = null;
  let sawValue = false;
  while (r.pos < end) {
    const f = nextField(r, W.keyValue);
    if (f === 1) key = readCachedString(r);
    else if (f === 2) {
      const ve = messageEnd(r);
      plain = readAnyValue(r, ve, 0);
      sawValue = true;
      r.pos = ve;
    } else r.skipType(lastWire);
  }
  r.pos = end;
  if (watchWarnings && key === WEFT_WARNINGS_KEY) {
    lastWarnings = sawValue && Array.isArray(plain) ? plain.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))) : [];
  }
  const v = toAttribute(plain);
  if (v !== undefined) setOwn(out, key, v);
}

function readEvent(r: Reader, end: number): SpanEvent {
  let time = 0n;
  let name = '';
  const attributes: Record<string, AttributeValue> = {};
  while (r.pos < end) {
    switch (nextField(r, W.event)) {
      case 1:
        time = readFixed64(r);
        break;
      case 2:
        name = readCachedString(r);
        break;
      case 3: {
        const e = messageEnd(r);
        readKeyValue(r, e, attributes, false);
        break;
      }
      default:
        r.skipType(lastWire);
    }
  }
  r.pos = end;
  return { timeUnixNano: time, name, attributes };
}

function readSpan(r: Reader, end: number, ctx: OtlpSpanContext, c: ConvertCollector): void {
  let traceId: string | null = '';
  let spanId: string | null = '';
  let parentSpanId: string | null = '';
  let name = '';
  let kind = 0;
  let start = 0n;
  let stop = 0n;
  let statusCode = 0;
  let statusMessage = '';
  const attributes: Record<string, AttributeValue> = {};
  const events: SpanEvent[] = [];
  lastWarnings = null;
  while (r.pos < end) {
    switch (nextField(r, W.span)) {
      case 1:
        traceId = readId(r, 16);
        break;
      case 2:
        spanId = readId(r, 8);
        break;
      case 4:
        parentSpanId = readId(r, 8);
        break;
      case 5:
        name = readCachedString(r);
        break;
      case 6:
        kind = r.int32();
        break;
      case 7:
        start = readFixed64(r);
        break;
      case 8:
        stop = readFixed64(r);
        break;
      case 9: {
        const e = messageEnd(r);
        readKeyValue(r, e, attributes, true);
        break;
      }
      case 11: {
        const e = messageEnd(r);
        events.push(readEvent(r, e));
        break;
      }
      case 15: {
        // A repeated message field replaces the earlier one (protobufjs does not merge).
        const e = messageEnd(r);
        statusCode = 0;
        statusMessage = '';
        while (r.pos < e) {
          const f = nextField(r, W.status);
          if (f === 2) statusMessage = r.string();
          else if (f === 3) statusCode = r.int32();
          else r.skipType(lastWire);
        }
        r.pos = e;
        break;
      }
      default:
        r.skipType(lastWire);
    }
  }
  r.pos = end;
  const warnings = lastWarnings;
  finishOtlpSpan(
    { traceId, spanId, parentSpanId, name, kind, startTimeUnixNano: start, endTimeUnixNano: stop, statusCode, statusMessage, attributes, warnings, events },
    ctx,
    c,
  );
}

/** Field positions [start, end) of every occurrence of `field` in the message at [r.pos, end). */
function fieldRanges(r: Reader, end: number, field: number, table: WireTable): number[] {
  const ranges: number[] = [];
  while (r.pos < end) {
    if (nextField(r, table) === field) {
      const e = messageEnd(r);
      ranges.push(r.pos, e);
      r.pos = e;
    } else r.skipType(lastWire);
  }
  return ranges;
}

/** Last occurrence of a message field (absent: null) decoded by reflection. */
function decodeLast(r: Reader, ranges: number[], type: protobuf.Type): Record<string, unknown> | null {
  if (ranges.length === 0) return null;
  const from = ranges[ranges.length - 2] as number;
  const to = ranges[ranges.length - 1] as number;
  // Earlier occurrences must still be valid messages, as the reference decode reads them all.
  for (let i = 0; i + 1 < ranges.length - 2; i += 2) {
    r.pos = ranges[i] as number;
    type.decode(r, (ranges[i + 1] as number) - r.pos);
  }
  r.pos = from;
  return type.decode(r, to - from) as unknown as Record<string, unknown>;
}

/**
 * Spans decoded per step of a stepped decode: about 0.1-0.3 ms, so the event loop's turn budget
 * (cpu-turns.ts) is kept to within a step whatever the body's size.
 */
const SPANS_PER_STEP = 32;

/** Where a stepped decode is: its bytes (module state such as `hexView` is re-pointed at them after each pause) and its spans since the last pause. */
interface StepState {
  view: Buffer;
  sinceYield: number;
}

function* readScopeSpans(r: Reader, end: number, base: Omit<OtlpSpanContext, 'scopeName' | 'scopeVersion'>, c: ConvertCollector, st: StepState): Generator<void, void, undefined> {
  const begin = r.pos;
  scopeType ??= protoRoot().lookupType('opentelemetry.proto.common.v1.InstrumentationScope');
  const scope = asObject(decodeLast(r, fieldRanges(r, end, 1, W.scopeSpans), scopeType));
  const ctx: OtlpSpanContext = { ...base, scopeName: readString(scope.name), scopeVersion: readString(scope.version) };
  r.pos = begin;
  while (r.pos < end) {
    if (nextField(r, W.scopeSpans) === 2) {
      const e = messageEnd(r);
      readSpan(r, e, ctx, c);
      if (++st.sinceYield >= SPANS_PER_STEP) {
        st.sinceYield = 0;
        yield;
        // Another decode may have run meanwhile.
        hexView = st.view;
      }
    } else r.skipType(lastWire);
  }
  r.pos = end;
}

function* readResourceSpans(r: Reader, end: number, origin: SpanOrigin, c: ConvertCollector, st: StepState): Generator<void, void, undefined> {
  const begin = r.pos;
  resourceType ??= protoRoot().lookupType('opentelemetry.proto.resource.v1.Resource');
  const resource = asObject(decodeLast(r, fieldRanges(r, end, 1, W.resourceSpans), resourceType));
  const base = { ...splitServiceName(keyValuesToRecord(resource.attributes)), origin };
  r.pos = begin;
  while (r.pos < end) {
    if (nextField(r, W.resourceSpans) === 2) {
      const e = messageEnd(r);
      yield* readScopeSpans(r, e, base, c, st);
    } else r.skipType(lastWire);
  }
  r.pos = end;
}

/**
 * ExportTraceServiceRequest bytes → ConvertResult, in steps of SPANS_PER_STEP spans: the caller
 * may run other work between steps (the server's CPU queue does), so one 16 MiB body does not
 * hold the event loop for its whole decode. Throws (RangeError/Error) on malformed wire data.
 */
export function* decodeOtlpRequestSteps(bytes: Uint8Array, origin: SpanOrigin): Generator<void, ConvertResult, undefined> {
  if (W === undefined) W = wireTables();
  const r = protobuf.Reader.create(bytes);
  const st: StepState = { view: Buffer.from(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength), sinceYield: 0 };
  hexView = st.view;
  const c = new ConvertCollector();
  const end = r.len;
  while (r.pos < end) {
    if (nextField(r, W.request) === 1) {
      const e = messageEnd(r);
      yield* readResourceSpans(r, e, origin, c, st);
    } else r.skipType(lastWire);
  }
  return c.result();
}
