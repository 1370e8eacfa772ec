/**
 * @module Parsing the text lines the Node.js hook (hook-script.ts) sends over the agent's unix
 * socket. Pure: one line in, one typed report (or the reason it is invalid) out; never throws.
 *
 * Lines (fields separated by one space; times are the target's CLOCK_MONOTONIC ns):
 * - `H token pid monoNs protocolVersion nodeVersion`  hello, first line of a channel
 * - `C ctx localIp localPort remoteIp remotePort ordinal monoNs`  an inbound context (ordinal 0:
 *   the connection, n: the connection's n-th HTTP request, started at monoNs)
 * - `S sock localIp localPort remoteIp remotePort`  a client socket's tuple, once connected
 * - `W sock offset length ctx`  a write() call: stream bytes [offset, offset+length) under ctx (0: none)
 * - `F sock offset length t0 t1 sync`  bytes [offset, offset+length) handed to libuv between t0
 *   and t1; sync=1: in exactly one kernel write inside that window
 * - `X sock`  the client socket closed
 * - `U monoNs`  everything up to monoNs has been sent
 * - `D count`  count reports were dropped (the channel was backed up)
 */

export interface Tuple {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

export type ReportLine =
  | { kind: 'hello'; token: string; pid: number; monoNs: bigint; protocolVersion: number; nodeVersion: string }
  | { kind: 'context'; ctx: number; tuple: Tuple; ordinal: number; monoNs: bigint }
  | { kind: 'socket'; sock: number; tuple: Tuple }
  | { kind: 'write'; sock: number; offset: number; length: number; ctx: number }
  | { kind: 'flush'; sock: number; offset: number; length: number; t0: bigint; t1: bigint; sync: boolean }
  | { kind: 'closed'; sock: number }
  | { kind: 'until'; monoNs: bigint }
  | { kind: 'dropped'; count: number }
  | { kind: 'invalid'; reason: string };

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
/** Stream offsets stay exact as JS numbers up to 2^53 bytes per connection. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_PORT = 65_535;
/** IPv4 dotted or IPv6 text as Node prints it (hex groups, colons, an optional dotted tail, a %zone). */
const IP = /^[0-9a-fA-F:.]{2,45}(%[A-Za-z0-9_.-]{1,16})?$/;
const TOKEN = /^[0-9a-f]{32}$/;
const VERSION = /^v[0-9][0-9A-Za-z.+-]{0,40}$/;

/** A canonical decimal (no sign, no leading zero) up to `max`; a digit loop, as this runs per report. */
function int(field: string | undefined, max = MAX_SAFE): number | null {
  if (field === undefined || field.length === 0 || field.length > 16 || (field.length > 1 && field.charCodeAt(0) === 48)) return null;
  let n = 0;
  for (let i = 0; i < field.length; i++) {
    const d = field.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return n <= max ? n : null;
}

function big(field: string | undefined): bigint | null {
  return field !== undefined && DECIMAL.test(field) ? BigInt(field) : null;
}

function tuple(f: string[], at: number): Tuple | null {
  const localIp = f[at];
  const remoteIp = f[at + 2];
  const localPort = int(f[at + 1], MAX_PORT);
  const remotePort = int(f[at + 3], MAX_PORT);
  if (localIp === undefined || remoteIp === undefined || !IP.test(localIp) || !IP.test(remoteIp)) return null;
  if (localPort === null || remotePort === null || localPort === 0 || remotePort === 0) return null;
  return { localIp, localPort, remoteIp, remotePort };
}

const invalid = (reason: string): ReportLine => ({ kind: 'invalid', reason });

/** One line without its newline. */
export function parseReportLine(line: string): ReportLine {
  const f = line.split(' ');
  const want = (n: number): boolean => f.length === n;
  switch (f[0] ?? '') {
    case 'H': {
      const pid = int(f[2], 0x3fffffff);
      const monoNs = big(f[3]);
      const protocolVersion = int(f[4], 1000);
      if (!want(6) || !TOKEN.test(f[1] ?? '') || pid === null || monoNs === null || protocolVersion === null || !VERSION.test(f[5] ?? '')) return invalid('bad hello');
      return { kind: 'hello', token: f[1] as string, pid, monoNs, protocolVersion, nodeVersion: f[5] as string };
    }
    case 'C': {
      const ctx = int(f[1]);
      const t = tuple(f, 2);
      const ordinal = int(f[6]);
      const monoNs = big(f[7]);
      if (!want(8) || ctx === null || ctx === 0 || t === null || ordinal === null || monoNs === null) return invalid('bad context');
      return { kind: 'context', ctx, tuple: t, ordinal, monoNs };
    }
    case 'S': {
      const sock = int(f[1]);
      const t = tuple(f, 2);
      if (!want(6) || sock === null || sock === 0 || t === null) return invalid('bad socket');
      return { kind: 'socket', sock, tuple: t };
    }
    case 'W': {
      const sock = int(f[1]);
      const offset = int(f[2]);
      const length = int(f[3]);
      const ctx = int(f[4]);
      if (!want(5) || sock === null || sock === 0 || offset === null || length === null || length === 0 || ctx === null) return invalid('bad write');
      return { kind: 'write', sock, offset, length, ctx };
    }
    case 'F': {
      const sock = int(f[1]);
      const offset = int(f[2]);
      const length = int(f[3]);
      const t0 = big(f[4]);
      const t1 = big(f[5]);
      if (!want(7) || sock === null || sock === 0 || offset === null || length === null || length === 0 || t0 === null || t1 === null || t1 < t0) return invalid('bad flush');
      if (f[6] !== '0' && f[6] !== '1') return invalid('bad flush');
      return { kind: 'flush', sock, offset, length, t0, t1, sync: f[6] === '1' };
    }
    case 'X': {
      const sock = int(f[1]);
      if (!want(2) || sock === null || sock === 0) return invalid('bad close');
      return { kind: 'closed', sock };
    }
    case 'U': {
      const monoNs = big(f[1]);
      if (!want(2) || monoNs === null) return invalid('bad until');
      return { kind: 'until', monoNs };
    }
    case 'D': {
      const count = int(f[1]);
      if (!want(2) || count === null) return invalid('bad dropped');
      return { kind: 'dropped', count };
    }
    default:
      return invalid('unknown record');
  }
}
