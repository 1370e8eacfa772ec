/**
 * @module Decoding the addon's poll buffer ([u32 length][struct weft_event + payload], 8-aligned)
 * into typed events. Layout constants come only from events.gen.ts (generated from events.h).
 */
import type { CloseEvent, DataEvent } from '../capture/capture-event.js';
import { formatIpv4, formatIpv6, isV4Mapped } from './ip-format.js';
import {
  EVENT_HEADER_SIZE,
  EVENT_OFFSETS as O,
  WEFT_COMM_LEN,
  WEFT_DIR_EGRESS,
  WEFT_FLAG_IPV6,
  WEFT_FLAG_MSG_START,
  WEFT_FLAG_SEQ_VALID,
  WEFT_FLAG_UDP,
  WEFT_KIND_ACCEPT,
  WEFT_KIND_CLOSE,
  WEFT_KIND_CONNECT,
  WEFT_KIND_DATA,
  WEFT_KIND_EXEC,
  WEFT_KIND_EXIT,
} from './events.gen.js';

export const SYSCALL_NAMES = ['', 'read', 'readv', 'recvfrom', 'recvmsg', 'recvmmsg', 'write', 'writev', 'sendto', 'sendmsg', 'sendmmsg'] as const;
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

export type EbpfEvent = SyscallEvent | CloseEvent | ConnectionEvent | ProcessEvent;

/** Converts the kernel's CLOCK_MONOTONIC ns to wall-clock ns: wall = ktime + offsetNs. */
export interface KtimeClock {
  offsetNs: bigint;
}

const decoder = new TextDecoder();

function readComm(buf: Buffer, at: number): string {
  let end = at;
  while (end < at + WEFT_COMM_LEN && buf[end] !== 0) end++;
  return decoder.decode(buf.subarray(at, end));
}

function readTuple(buf: Buffer, at: number, flags: number): Pick<ConnectionEvent, 'transport' | 'ipVersion' | 'localIp' | 'localPort' | 'remoteIp' | 'remotePort'> {
  const la = at + O.localAddr;
  const ra = at + O.remoteAddr;
  let ipVersion: 4 | 6 = 4;
  let localIp: string;
  let remoteIp: string;
  if ((flags & WEFT_FLAG_IPV6) === 0) {
    localIp = formatIpv4(buf, la);
    remoteIp = formatIpv4(buf, ra);
  } else if (isV4Mapped(buf, la) && (isV4Mapped(buf, ra) || buf.subarray(ra, ra + 16).every((b) => b === 0))) {
    // A dual-stack socket talking IPv4: report it as the IPv4 flow it is on the wire.
    localIp = formatIpv4(buf, la + 12);
    remoteIp = isV4Mapped(buf, ra) ? formatIpv4(buf, ra + 12) : '0.0.0.0';
  } else {
    ipVersion = 6;
    localIp = formatIpv6(buf, la);
    remoteIp = formatIpv6(buf, ra);
  }
  return {
    transport: (flags & WEFT_FLAG_UDP) !== 0 ? 'udp' : 'tcp',
    ipVersion,
    localIp,
    localPort: buf.readUInt16LE(at + O.localPort),
    remoteIp,
    remotePort: buf.readUInt16LE(at + O.remotePort),
  };
}

/**
 * Decode `length` bytes of a poll buffer. Payloads are copied out (the buffer is reused by the
 * next poll). Records of an unknown kind are skipped, so an older TS side tolerates a newer addon.
 */
export function decodeEvents(buf: Buffer, length: number, clock: KtimeClock): EbpfEvent[] {
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
    const tid = buf.readUInt32LE(at + O.tid);
    const comm = readComm(buf, at + O.comm);
    const enter = buf.readBigUInt64LE(at + O.enterNs) + clock.offsetNs;
    const socketId = buf.readBigUInt64LE(at + O.socketId);
    if (kind === WEFT_KIND_DATA) {
      const payloadLen = Math.min(buf.readUInt32LE(at + O.payloadLen), recLen - EVENT_HEADER_SIZE);
      const seqValid = (flags & WEFT_FLAG_SEQ_VALID) !== 0;
      out.push({
        kind: 'data',
        socketId,
        pid,
        tid,
        comm,
        direction: buf[at + O.direction] === WEFT_DIR_EGRESS ? 'egress' : 'ingress',
        startUnixNano: enter,
        endUnixNano: buf.readBigUInt64LE(at + O.exitNs) + clock.offsetNs,
        totalBytes: Number(buf.readBigInt64LE(at + O.bytes)),
        payload: Uint8Array.prototype.slice.call(buf, at + EVENT_HEADER_SIZE, at + EVENT_HEADER_SIZE + payloadLen),
        ...readTuple(buf, at, flags),
        tcpSeq: seqValid ? buf.readUInt32LE(at + O.tcpSeq) : 0,
        tcpSeqValid: seqValid,
        // Ids are < 2^53 by construction in the kernel, so Number is exact.
        syscallTraceId: Number(buf.readBigUInt64LE(at + O.traceId)),
        messageStart: (flags & WEFT_FLAG_MSG_START) !== 0,
        interfaceName: '',
        syscall: SYSCALL_NAMES[buf[at + O.syscall] ?? 0] || 'read',
      } as SyscallEvent);
    } else if (kind === WEFT_KIND_CLOSE) {
      out.push({ kind: 'close', socketId, pid, unixNano: enter });
    } else if (kind === WEFT_KIND_CONNECT || kind === WEFT_KIND_ACCEPT) {
      out.push({ kind: kind === WEFT_KIND_CONNECT ? 'connect' : 'accept', socketId, pid, tid, comm, unixNano: enter, ...readTuple(buf, at, flags) });
    } else if (kind === WEFT_KIND_EXEC || kind === WEFT_KIND_EXIT) {
      out.push({ kind: kind === WEFT_KIND_EXEC ? 'exec' : 'exit', pid, comm, unixNano: enter });
    }
  }
  return out;
}
