/**
 * @module Decoding the addon's poll buffer ([u32 length][struct weft_event + payload], 8-aligned)
 * into typed events. Layout constants come only from events.gen.ts (generated from events.h).
 */
import type { CloseEvent, DataEvent, FrameEvent, KeptBytes } from '../capture/capture-event.js';
import { formatIpv4, formatIpv6, isV4Mapped } from '../capture/ip-format.js';
import {
  EVENT_HEADER_SIZE,
  EVENT_OFFSETS as O,
  WEFT_COMM_LEN,
  WEFT_DIR_EGRESS,
  WEFT_FLAG_IPV6,
  WEFT_FLAG_MSG_START,
  WEFT_FLAG_SEQ_VALID,
  WEFT_FLAG_TLS,
  WEFT_FLAG_UDP,
  WEFT_FLAG_H2_WALK,
  WEFT_H2_MAX_GAPS,
  WEFT_KIND_ACCEPT,
  WEFT_KIND_CLOSE,
  WEFT_KIND_CONNECT,
  WEFT_KIND_DATA,
  WEFT_KIND_EXEC,
  WEFT_KIND_EXIT,
  WEFT_KIND_PACKET,
  WEFT_KIND_TLS_LIBRARY,
} from './events.gen.js';

export const SYSCALL_NAMES = ['', 'read', 'readv', 'recvfrom', 'recvmsg', 'recvmmsg', 'write', 'writev', 'sendto', 'sendmsg', 'sendmmsg', 'ssl'] as const;

/**
 * TLS plaintext (SSL_read/SSL_write uprobes) is a byte stream of its own next to the socket's
 * ciphertext: its events get the socket's id with this bit, so the sessions never mix the two.
 * Kernel socket ids are < 2^53.
 */
export const TLS_STREAM_BIT = 1n << 62n;
export type SyscallName = Exclude<(typeof SYSCALL_NAMES)[number], ''>;

/** One data syscall on a TCP/UDP socket: a capture DataEvent plus what only eBPF knows. */
export interface SyscallEvent extends DataEvent {
  syscall: SyscallName;
  /** The kernel had a TCP seq for this chunk (false for UDP). */
  tcpSeqValid: boolean;
}

/** connect() (this process is the client) or accept() (the server) on a traced socket. */
export interface ConnectionEvent {
  kind: 'connect' | 'accept';
  socketId: bigint;
  pid: number;
  tid: number;
  comm: string;
  unixNano: bigint;
  transport: 'tcp' | 'udp';
  ipVersion: 4 | 6;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

export interface ProcessEvent {
  kind: 'exec' | 'exit';
  pid: number;
  comm: string;
  unixNano: bigint;
}

export type EbpfEvent = SyscallEvent | CloseEvent | ConnectionEvent | ProcessEvent | FrameEvent;

/** Converts the kernel's CLOCK_MONOTONIC ns to wall-clock ns: wall = ktime + offsetNs. */
export interface KtimeClock {
  offsetNs: bigint;
}

const TWO32 = 4294967296;

/** IPv4 strings by their 32-bit value: a host talks to few peers, and string building is hot. */
const ipv4Cache = new Map<number, string>();

function ipv4At(buf: Buffer, at: number): string {
  const key = buf.readUInt32LE(at);
  let s = ipv4Cache.get(key);
  if (s === undefined) {
    s = formatIpv4(buf, at);
    if (ipv4Cache.size > 65_536) ipv4Cache.clear();
    ipv4Cache.set(key, s);
  }
  return s;
}

function readComm(buf: Buffer, at: number): string {
  let end = at;
  while (end < at + WEFT_COMM_LEN && buf[end] !== 0) end++;
  return buf.toString('latin1', at, end);
}

/** A u64 field known to stay below 2^53 (ktime ns, ids, byte counts) as a Number. */
function u53(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * TWO32 + buf.readUInt32LE(at);
}

type Tuple = Pick<ConnectionEvent, 'transport' | 'ipVersion' | 'localIp' | 'localPort' | 'remoteIp' | 'remotePort'>;

function readTuple(buf: Buffer, at: number, flags: number, into: Tuple): void {
  const la = at + O.localAddr;
  const ra = at + O.remoteAddr;
  into.transport = (flags & WEFT_FLAG_UDP) !== 0 ? 'udp' : 'tcp';
  into.localPort = buf.readUInt16LE(at + O.localPort);
  into.remotePort = buf.readUInt16LE(at + O.remotePort);
  if ((flags & WEFT_FLAG_IPV6) === 0) {
    into.ipVersion = 4;
    into.localIp = ipv4At(buf, la);
    into.remoteIp = ipv4At(buf, ra);
  } else if (isV4Mapped(buf, la) && (isV4Mapped(buf, ra) || buf.subarray(ra, ra + 16).every((b) => b === 0))) {
    // A dual-stack socket talking IPv4: report it as the IPv4 flow it is on the wire.
    into.ipVersion = 4;
    into.localIp = ipv4At(buf, la + 12);
    into.remoteIp = isV4Mapped(buf, ra) ? ipv4At(buf, ra + 12) : '0.0.0.0';
  } else {
    into.ipVersion = 6;
    into.localIp = formatIpv6(buf, la);
    into.remoteIp = formatIpv6(buf, ra);
  }
}

/**
 * A walked record's payload (events.h, WEFT_FLAG_H2_WALK): [kept bytes][n x {u32 at, u32 len}][u32 n].
 * A table that does not add up (out of order, past the kept bytes or the syscall's byte count)
 * gives null: the record then counts as one with nothing captured, never as misplaced bytes.
 */
export function decodeKept(payload: Buffer, totalBytes: number): KeptBytes | null {
  if (payload.length < 4) return null;
  const n = payload.readUInt32LE(payload.length - 4);
  const tableAt = payload.length - 4 - 8 * n;
  if (n > WEFT_H2_MAX_GAPS || tableAt < 0) return null;
  const gaps: { at: number; len: number }[] = [];
  let prev = -1;
  let covered = tableAt;
  for (let i = 0; i < n; i++) {
    const at = payload.readUInt32LE(tableAt + 8 * i);
    const len = payload.readUInt32LE(tableAt + 8 * i + 4);
    if (at > tableAt || at <= prev || len === 0) return null;
    prev = at;
    covered += len;
    gaps.push({ at, len });
  }
  if (covered > totalBytes) return null;
  return { data: payload.subarray(0, tableAt), gaps };
}

/**
 * Decode `length` bytes of a poll buffer. The used bytes are copied once and payloads are views
 * into that copy (the poll buffer is reused by the next poll). Records of an unknown kind are
 * skipped, so an older TS side tolerates a newer addon. A process that mapped OpenSSL's libssl
 * is not an event for the sessions: it goes to `onTlsLibrary` (the TLS attacher) alone.
 */
export function decodeEvents(pollBuffer: Buffer, length: number, clock: KtimeClock, onTlsLibrary?: (pid: number) => void): EbpfEvent[] {
  const buf = Buffer.from(pollBuffer.subarray(0, length));
  const offset = clock.offsetNs;
  const out: EbpfEvent[] = [];
  let pos = 0;
  while (pos + 4 <= length) {
    const recLen = buf.readUInt32LE(pos);
    const at = pos + 4;
    pos += (4 + recLen + 7) & ~7;
    if (recLen < EVENT_HEADER_SIZE || at + recLen > length) break;
    const kind = buf[at + O.kind];
    const flags = buf[at + O.flags] ?? 0;
    const pid = buf.readUInt32LE(at + O.pid);
    const enter = BigInt(u53(buf, at + O.enterNs)) + offset;
    if (kind === WEFT_KIND_DATA) {
      const payloadLen = Math.min(buf.readUInt32LE(at + O.payloadLen), recLen - EVENT_HEADER_SIZE);
      const seqValid = (flags & WEFT_FLAG_SEQ_VALID) !== 0;
      const tls = (flags & WEFT_FLAG_TLS) !== 0;
      const socketId = BigInt(u53(buf, at + O.socketId));
      const ev: SyscallEvent = {
        kind: 'data',
        socketId: tls ? socketId | TLS_STREAM_BIT : socketId,
        pid,
        tid: buf.readUInt32LE(at + O.tid),
        comm: readComm(buf, at + O.comm),
        direction: buf[at + O.direction] === WEFT_DIR_EGRESS ? 'egress' : 'ingress',
        startUnixNano: enter,
        endUnixNano: BigInt(u53(buf, at + O.exitNs)) + offset,
        // Byte counts of one syscall fit easily; the kernel only emits records with ret > 0.
        totalBytes: buf.readUInt32LE(at + O.bytes),
        payload: buf.subarray(at + EVENT_HEADER_SIZE, at + EVENT_HEADER_SIZE + payloadLen),
        transport: 'tcp',
        ipVersion: 4,
        localIp: '',
        localPort: 0,
        remoteIp: '',
        remotePort: 0,
        tcpSeq: seqValid ? buf.readUInt32LE(at + O.tcpSeq) : 0,
        tcpSeqValid: seqValid,
        // Ids are < 2^53 by construction in the kernel, so Number is exact.
        syscallTraceId: u53(buf, at + O.traceId),
        messageStart: (flags & WEFT_FLAG_MSG_START) !== 0,
        interfaceName: '',
        syscall: SYSCALL_NAMES[buf[at + O.syscall] ?? 0] || 'read',
      };
      if (tls) ev.tls = true;
      if ((flags & WEFT_FLAG_H2_WALK) !== 0) {
        const kept = decodeKept(ev.payload as Buffer, ev.totalBytes);
        ev.payload = kept ? kept.data.subarray(0, kept.gaps.length > 0 ? kept.gaps[0]!.at : kept.data.length) : ev.payload.subarray(0, 0);
        if (kept && kept.gaps.length > 0) ev.kept = kept;
      }
      readTuple(buf, at, flags, ev);
      out.push(ev);
    } else if (kind === WEFT_KIND_CLOSE) {
      const socketId = BigInt(u53(buf, at + O.socketId));
      out.push({ kind: 'close', socketId, pid, unixNano: enter });
      // The socket's TLS plaintext stream (if it had one) ends with it.
      out.push({ kind: 'close', socketId: socketId | TLS_STREAM_BIT, pid, unixNano: enter });
    } else if (kind === WEFT_KIND_CONNECT || kind === WEFT_KIND_ACCEPT) {
      const ev: ConnectionEvent = { kind: kind === WEFT_KIND_CONNECT ? 'connect' : 'accept', socketId: BigInt(u53(buf, at + O.socketId)), pid, tid: buf.readUInt32LE(at + O.tid), comm: readComm(buf, at + O.comm), unixNano: enter, transport: 'tcp', ipVersion: 4, localIp: '', localPort: 0, remoteIp: '', remotePort: 0 };
      readTuple(buf, at, flags, ev);
      out.push(ev);
    } else if (kind === WEFT_KIND_PACKET) {
      const dataLen = Math.min(buf.readUInt32LE(at + O.payloadLen), recLen - EVENT_HEADER_SIZE);
      out.push({
        kind: 'frame',
        ifindex: u53(buf, at + O.socketId),
        direction: buf[at + O.direction] === WEFT_DIR_EGRESS ? 'egress' : 'ingress',
        unixNano: enter,
        wireBytes: buf.readUInt32LE(at + O.bytes),
        data: buf.subarray(at + EVENT_HEADER_SIZE, at + EVENT_HEADER_SIZE + dataLen),
      });
    } else if (kind === WEFT_KIND_TLS_LIBRARY) {
      onTlsLibrary?.(pid);
    } else if (kind === WEFT_KIND_EXEC || kind === WEFT_KIND_EXIT) {
      out.push({ kind: kind === WEFT_KIND_EXEC ? 'exec' : 'exit', pid, comm: readComm(buf, at + O.comm), unixNano: enter });
    }
  }
  return out;
}
