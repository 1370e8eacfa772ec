/**
 * @module The connection and timing half of a SYS/NET span: every protocol's `toSpan` starts
 * from `spanBase` and fills the L7 fields, so transport and correlation keys are set in one place.
 */
import { emptySpan, type SpanRecord } from '../../model/index.js';
import type { ConnInfo, FrameMeta } from '../protocols/protocol.js';

/**
 * A span with the connection, process and per-message keys filled. Start is the request's first
 * byte; end is the response's first byte (DeepFlow's SYS span timing), or the request's last
 * syscall exit when there is no response.
 */
export function spanBase(conn: ConnInfo, req: FrameMeta | null, resp: FrameMeta | null): SpanRecord {
  const span = emptySpan({ source: conn.source, origin: conn.origin, observationPoint: conn.observationPoint });
  const clientSide = conn.observationPoint.startsWith('c');
  span.kind = clientSide ? 'client' : 'server';
  span.service = conn.processName;
  const first = req ?? resp;
  if (first) span.startTimeUnixNano = first.startUnixNano;
  span.endTimeUnixNano = resp ? resp.startUnixNano : (req?.endUnixNano ?? 0n);
  if (span.endTimeUnixNano < span.startTimeUnixNano) span.endTimeUnixNano = span.startTimeUnixNano;
  span.ipVersion = conn.ipVersion;
  span.transport = conn.transport;
  span.clientIp = conn.clientIp;
  span.clientPort = conn.clientPort;
  span.serverIp = conn.serverIp;
  span.serverPort = conn.serverPort;
  span.reqTcpSeq = req?.tcpSeq ?? 0;
  span.respTcpSeq = resp?.tcpSeq ?? 0;
  span.syscallTraceIdReq = req?.syscallTraceId ?? 0;
  span.syscallTraceIdResp = resp?.syscallTraceId ?? 0;
  span.threadIdReq = req?.tid ?? 0;
  span.threadIdResp = resp?.tid ?? 0;
  span.hostId = conn.hostId;
  span.processId = conn.processId;
  span.processName = conn.processName;
  span.interfaceName = conn.interfaceName;
  if (!resp) span.responseStatus = 'timeout';
  return span;
}

/** The span name: `TYPE resource` (or domain), as the session table also names spans. */
export function spanName(span: SpanRecord): string {
  const what = span.endpoint || span.requestResource || span.requestDomain;
  if (!span.requestType) return what || span.protocol;
  return what ? `${span.requestType} ${what}` : span.requestType;
}

/** Maximum characters kept of a resource (path, SQL, command line). */
export const MAX_RESOURCE_CHARS = 1024;

export function truncate(s: string, max = MAX_RESOURCE_CHARS): string {
  return s.length <= max ? s : s.slice(0, max);
}

/** Sets `statusCode` from `responseStatus` (OTel: only errors are marked). */
export function finishStatus(span: SpanRecord): void {
  if (span.responseStatus === 'client_error' || span.responseStatus === 'server_error') {
    span.statusCode = 'error';
    span.statusMessage = span.responseException;
  } else if (span.responseStatus === 'timeout') {
    span.statusCode = 'error';
    span.statusMessage = 'no response';
  }
}
