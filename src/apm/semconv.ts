/**
 * @module OpenTelemetry semantic conventions (old and new names) → the L7 fields of SpanRecord.
 *
 * One mapping for every APP-span dialect: OTLP uses it directly, SkyWalking and Zipkin first
 * rename their tags to OTel keys and then call it. Keys that map one-to-one onto a field are
 * taken out of `attributes` (the field holds the value); keys that carry more than the field
 * (hosts, ports, rpc.*, messaging.*) stay, so nothing an SDK sent is lost.
 */
import { redactQuery } from '../model/index.js';
import type { AttributeValue, ResponseStatus, SpanRecord } from '../model/index.js';
import { setOwn } from './wire-values.js';

/** Keys whose value moves into a field and leaves `attributes`. */
const CONSUMED_KEYS = new Set([
  'http.method',
  'http.request.method',
  'http.status_code',
  'http.response.status_code',
  'http.target',
  'url.path',
  'http.path',
  'db.statement',
  'db.query.text',
  'db.operation',
  'db.operation.name',
  'db.system',
  'db.system.name',
]);

/** HTTP status classes (RFC 9110 §15). */
const HTTP_CLIENT_ERROR_MIN = 400;
const HTTP_SERVER_ERROR_MIN = 500;

// str/int take up to three keys as parameters, not a rest array: they run ~30 times per span on
// the ingest hot path, and a rest array per call showed in profiles.
function str(attrs: Record<string, AttributeValue>, k1: string, k2?: string, k3?: string): string {
  const v1 = attrs[k1];
  if (v1 !== undefined && v1 !== '') return String(v1);
  if (k2 === undefined) return '';
  const v2 = attrs[k2];
  if (v2 !== undefined && v2 !== '') return String(v2);
  if (k3 === undefined) return '';
  const v3 = attrs[k3];
  if (v3 !== undefined && v3 !== '') return String(v3);
  return '';
}

function intOf(v: AttributeValue | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? n : null;
}

function int(attrs: Record<string, AttributeValue>, k1: string, k2?: string, k3?: string): number | null {
  const n1 = intOf(attrs[k1]);
  if (n1 !== null || k2 === undefined) return n1;
  const n2 = intOf(attrs[k2]);
  if (n2 !== null || k3 === undefined) return n2;
  return intOf(attrs[k3]);
}

/** Header attributes are string arrays in OTel (`http.request.header.x-request-id`), flattened to JSON. */
function headerValue(attrs: Record<string, AttributeValue>, key: string): string {
  const v = attrs[key];
  if (v === undefined) return '';
  const s = String(v);
  if (s.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(s);
      if (Array.isArray(parsed) && typeof parsed[0] === 'string') return parsed[0];
    } catch {
      return s;
    }
  }
  return s;
}

function parseUrl(raw: string): URL | null {
  if (raw === '') return null;
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

export function ipVersionOf(ip: string): 0 | 4 | 6 {
  if (ip === '') return 0;
  if (ip.includes(':')) return 6;
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? 4 : 0;
}

/** The DeepFlow-style outcome of an HTTP status code. */
export function responseStatusForHttpCode(code: number): ResponseStatus {
  if (code >= HTTP_SERVER_ERROR_MIN) return 'server_error';
  if (code >= HTTP_CLIENT_ERROR_MIN) return 'client_error';
  return 'ok';
}

/** First word of a SQL statement, upper-cased: the SQL verb DeepFlow reports as request type. */
function sqlVerb(statement: string): string {
  const m = /^\s*(?:\/\*.*?\*\/\s*)*([A-Za-z]+)/s.exec(statement);
  return m?.[1] ? m[1].toUpperCase() : '';
}

/**
 * Fills the L7, transport and correlation fields of an APP span from its attributes, and sets
 * `span.attributes` to what remains. Call it after `kind`, `name`, `statusCode` and
 * `statusMessage` are set: the observation side and the error outcome depend on them.
 */
/** Attributes holding a URL, target or query string (OTel current and older conventions). */
const URL_ATTRIBUTES = ['url.full', 'url.query', 'http.url', 'http.target', 'url.original'];

export function applySemanticConventions(span: SpanRecord, attrs: Record<string, AttributeValue>): void {
  const keys = Object.keys(attrs);
  const hasHttp = keys.some((k) => k.startsWith('http.'));
  const dbSystem = str(attrs, 'db.system.name', 'db.system').toLowerCase();
  const rpcSystem = str(attrs, 'rpc.system').toLowerCase();
  const msgSystem = str(attrs, 'messaging.system').toLowerCase();
  const url = parseUrl(str(attrs, 'url.full', 'http.url'));

  const serverAddress = str(attrs, 'server.address', 'http.host', 'net.peer.name');
  let domain = serverAddress || (url ? url.hostname : '');
  let resource = '';
  let type = '';
  let protocol = '';

  if (dbSystem !== '') {
    protocol = dbSystem;
    resource = str(attrs, 'db.query.text', 'db.statement');
    type = str(attrs, 'db.operation.name', 'db.operation') || sqlVerb(resource);
    if (domain === '') domain = str(attrs, 'db.namespace', 'db.name');
  } else if (rpcSystem !== '') {
    protocol = rpcSystem;
    const service = str(attrs, 'rpc.service');
    const method = str(attrs, 'rpc.method');
    type = method;
    resource = service !== '' && method !== '' ? `${service}/${method}` : service || method;
    if (domain === '') domain = service;
  } else if (msgSystem !== '') {
    protocol = msgSystem;
    type = str(attrs, 'messaging.operation.type', 'messaging.operation.name', 'messaging.operation');
    resource = str(attrs, 'messaging.destination.name', 'messaging.destination');
  }
  if (hasHttp || url !== null || str(attrs, 'http.request.method') !== '') {
    if (protocol === '') protocol = 'http';
    if (type === '') type = str(attrs, 'http.request.method', 'http.method');
    if (resource === '') {
      resource = str(attrs, 'url.path', 'http.target', 'http.path') || (url ? url.pathname + url.search : '');
    }
  }

  span.protocol = protocol;
  span.requestType = type;
  span.requestDomain = domain;
  // Secret query parameters are redacted here, where every APP span passes (src/model/url-redaction).
  span.requestResource = redactQuery(resource);
  for (const k of URL_ATTRIBUTES) {
    const v = attrs[k];
    if (typeof v === 'string') attrs[k] = k === 'url.query' ? redactQuery(`?${v}`).slice(1) : redactQuery(v);
  }
  span.endpoint = str(attrs, 'http.route') || span.name;

  const httpCode = int(attrs, 'http.response.status_code', 'http.status_code');
  const grpcCode = rpcSystem === 'grpc' ? int(attrs, 'rpc.grpc.status_code') : null;
  span.responseCode = httpCode ?? grpcCode;
  if (httpCode !== null) span.responseStatus = responseStatusForHttpCode(httpCode);
  else if (span.statusCode === 'error') span.responseStatus = 'server_error';
  else span.responseStatus = 'ok';
  if (span.statusCode === 'error') span.responseException = span.statusMessage || str(attrs, 'exception.message', 'error.type');

  // Transport: which side the peer attributes describe depends on the span's side.
  const transport = str(attrs, 'network.transport', 'net.transport').toLowerCase();
  span.transport = transport.includes('udp') ? 'udp' : transport.includes('tcp') ? 'tcp' : '';
  const peerIp = str(attrs, 'network.peer.address', 'net.peer.ip', 'net.sock.peer.addr');
  const peerPort = int(attrs, 'network.peer.port', 'net.peer.port', 'net.sock.peer.port');
  if (span.kind === 'server' || span.kind === 'consumer') {
    span.clientIp = str(attrs, 'client.address') || peerIp;
    span.clientPort = int(attrs, 'client.port') ?? peerPort ?? 0;
    span.serverIp = str(attrs, 'network.local.address', 'net.host.ip');
    span.serverPort = int(attrs, 'server.port', 'net.host.port', 'network.local.port') ?? (url?.port ? Number(url.port) : 0);
  } else {
    span.serverIp = peerIp;
    span.serverPort = int(attrs, 'server.port') ?? peerPort ?? (url?.port ? Number(url.port) : 0);
    span.clientIp = str(attrs, 'network.local.address', 'net.host.ip', 'client.address');
    span.clientPort = int(attrs, 'network.local.port', 'net.host.port', 'client.port') ?? 0;
  }
  span.ipVersion = ipVersionOf(span.serverIp) || ipVersionOf(span.clientIp);
  // Envoy writes the request id as `guid:x-request-id`.
  span.xRequestIdReq = headerValue(attrs, 'http.request.header.x-request-id') || str(attrs, 'guid:x-request-id');
  span.xRequestIdResp = headerValue(attrs, 'http.response.header.x-request-id');
  const tid = int(attrs, 'thread.id');
  if (tid !== null && tid > 0) span.threadIdReq = tid;

  const remaining: Record<string, AttributeValue> = {};
  for (const k of keys) {
    const v = attrs[k];
    if (v !== undefined && !CONSUMED_KEYS.has(k)) setOwn(remaining, k, v);
  }
  span.attributes = remaining;
}
