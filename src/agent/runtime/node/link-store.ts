/**
 * @module What the agent keeps of each hooked Node.js process's reports, and the one question it
 * answers: which inbound connection (and HTTP request) caused the outbound message whose first
 * byte has tcp seq S on a client socket. Pure bookkeeping: no I/O, no clock of its own.
 *
 * The mapping is exact or absent. Each client socket's reports give stream offsets; a message's
 * offset is `(S - delta) mod 2^32`, where `delta` (= ISN + 1) is learned from an observed kernel
 * write that fell inside a `sync` flush window: exactly one syscall moved the bytes starting at
 * that window's offset, so that syscall's seq belongs to that offset. Every further such pairing
 * must agree, or the socket is marked conflicting and answers nothing. A message is answered
 * only when its first byte is the first byte of one write() call.
 */
import type { ReportLine, Tuple } from './report-lines.js';

/** A TCP connection seen from the process: the eBPF event's tuple. */
export type SocketTuple = Tuple;

/** The inbound side a message serves: the server-side connection, and the request on it when known. */
export interface InboundRef extends SocketTuple {
  /** 1 for the connection's first HTTP request, 2 for the next…; absent: connection-level (raw TCP server). */
  ordinal?: number;
  /** Wall-clock ns when the process began handling that request (its `request` event). */
  requestStartUnixNano?: bigint;
}

export interface LinkStoreOptions {
  /** wall = CLOCK_MONOTONIC + offsetNs, the eBPF source's conversion. */
  offsetNs: bigint;
  /** How long a closed socket's reports stay answerable (default 60 s). */
  retentionNs?: bigint;
}

export interface LinkStoreStats {
  reports: number;
  invalidReports: number;
  droppedReports: number;
  learnedSockets: number;
  conflictingSockets: number;
}

export interface LinkStore {
  /** Starts (or restarts, dropping old state) the record of one process. */
  open(pid: number): void;
  /** Applies one report of `pid` (hello lines are the channel's business, not the store's). */
  apply(pid: number, report: ReportLine): void;
  /** An egress syscall the kernel saw for `pid` on `tuple`: a candidate to learn that socket's delta. */
  observeEgress(pid: number, tuple: SocketTuple, tcpSeq: number, startUnixNano: bigint): void;
  inboundFor(pid: number, outbound: SocketTuple, tcpSeq: number, startUnixNano: bigint): InboundRef | undefined;
  reportedUntil(pid: number): bigint;
  has(pid: number): boolean;
  forget(pid: number): void;
  stats(): LinkStoreStats;
}

const TWO32 = 4294967296;
const DEFAULT_RETENTION_NS = 60_000_000_000n;
/** Per socket: the newest writes and windows kept (a pooled connection lives for hours). */
const MAX_WRITES = 8192;
const MAX_WINDOWS = 4096;
/** Per process: egress syscalls waiting for their window, and inbound contexts. */
const MAX_PENDING_EGRESS = 512;
const MAX_CONTEXTS = 65_536;
/** An egress syscall waits this long (in the process's reported time) for its window and socket tuple. */
const PENDING_WAIT_NS = 2_000_000_000n;

interface Window {
  offset: number;
  length: number;
  t0: bigint;
  t1: bigint;
}

interface SockState {
  tuple: SocketTuple | null;
  /** Parallel arrays in stream order: write() ranges and their contexts. */
  writeOffset: number[];
  writeLength: number[];
  writeCtx: number[];
  /** Sync flush windows in time order (wall ns). */
  windows: Window[];
  delta: number | null;
  conflict: boolean;
  closedAtUnixNano: bigint | null;
}

interface Egress {
  key: string;
  seq: number;
  start: bigint;
}

interface ProcState {
  sockets: Map<number, SockState>;
  byTuple: Map<string, SockState>;
  contexts: Map<number, InboundRef>;
  pendingEgress: Egress[];
  untilUnixNano: bigint;
}

export function tupleKey(t: SocketTuple): string {
  return `${t.localIp}|${t.localPort}|${t.remoteIp}|${t.remotePort}`;
}

function newSock(): SockState {
  return { tuple: null, writeOffset: [], writeLength: [], writeCtx: [], windows: [], delta: null, conflict: false, closedAtUnixNano: null };
}

/** The index of the last write starting at or before `offset`, or -1. */
function writeAtOrBefore(s: SockState, offset: number): number {
  let lo = 0;
  let hi = s.writeOffset.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((s.writeOffset[mid] as number) <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The sync window whose [t0, t1] holds `at`, or null (windows of one socket never overlap in time). */
function windowAt(s: SockState, at: bigint): Window | null {
  let lo = 0;
  let hi = s.windows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const w = s.windows[mid] as Window;
    if (at < w.t0) hi = mid - 1;
    else if (at > w.t1) lo = mid + 1;
    else return w;
  }
  return null;
}

function trim<T>(arr: T[], max: number): void {
  if (arr.length > max) arr.splice(0, arr.length - (max >> 1));
}

export function createLinkStore(opts: LinkStoreOptions): LinkStore {
  const offsetNs = opts.offsetNs;
  const retentionNs = opts.retentionNs ?? DEFAULT_RETENTION_NS;
  const procs = new Map<number, ProcState>();
  const counts = { reports: 0, invalidReports: 0, droppedReports: 0, learnedSockets: 0, conflictingSockets: 0 };

  const sockOf = (p: ProcState, id: number): SockState => {
    let s = p.sockets.get(id);
    if (!s) {
      s = newSock();
      p.sockets.set(id, s);
    }
    return s;
  };

  const setDelta = (s: SockState, candidate: number): void => {
    if (s.conflict) return;
    if (s.delta === null) {
      s.delta = candidate;
      counts.learnedSockets++;
    } else if (s.delta !== candidate) {
      s.conflict = true;
      counts.conflictingSockets++;
    }
  };

  /** Pairs waiting egress syscalls of `p` with sync windows; the ones paired (or too old) leave. */
  const learn = (p: ProcState): void => {
    if (p.pendingEgress.length === 0) return;
    const keep: Egress[] = [];
    for (const e of p.pendingEgress) {
      const s = p.byTuple.get(e.key);
      const w = s ? windowAt(s, e.start) : null;
      if (s && w) setDelta(s, (e.seq - (w.offset % TWO32) + TWO32) % TWO32);
      // A window may still be on its way (reports trail the kernel by a turn of the target's loop).
      else if (e.start + PENDING_WAIT_NS > p.untilUnixNano) keep.push(e);
    }
    p.pendingEgress = keep;
  };

  const prune = (p: ProcState): void => {
    for (const [id, s] of p.sockets) {
      if (s.closedAtUnixNano !== null && s.closedAtUnixNano + retentionNs < p.untilUnixNano) {
        p.sockets.delete(id);
        if (s.tuple && p.byTuple.get(tupleKey(s.tuple)) === s) p.byTuple.delete(tupleKey(s.tuple));
      }
    }
  };

  return {
    open(pid) {
      procs.set(pid, { sockets: new Map(), byTuple: new Map(), contexts: new Map(), pendingEgress: [], untilUnixNano: 0n });
    },
    apply(pid, r) {
      const p = procs.get(pid);
      if (!p) return;
      counts.reports++;
      switch (r.kind) {
        case 'context': {
          const t = r.tuple;
          const ref: InboundRef = { localIp: t.localIp, localPort: t.localPort, remoteIp: t.remoteIp, remotePort: t.remotePort, requestStartUnixNano: r.monoNs + offsetNs };
          if (r.ordinal > 0) ref.ordinal = r.ordinal;
          p.contexts.set(r.ctx, ref);
          // Past the bound keep the newer half, rebuilt at once: deleting one oldest key per insert
          // leaves V8's ordered map scanning over tombstones.
          if (p.contexts.size > MAX_CONTEXTS) p.contexts = new Map([...p.contexts].slice(p.contexts.size >> 1));
          return;
        }
        case 'socket': {
          const s = sockOf(p, r.sock);
          s.tuple = r.tuple;
          // A reused 4-tuple is a new connection: the newest socket answers for it.
          p.byTuple.set(tupleKey(r.tuple), s);
          return;
        }
        case 'write': {
          const s = sockOf(p, r.sock);
          const n = s.writeOffset.length;
          const lastEnd = n > 0 ? (s.writeOffset[n - 1] as number) + (s.writeLength[n - 1] as number) : 0;
          if (r.offset < lastEnd) {
            // Writes report a monotonic stream; an overlap means the reports cannot be trusted.
            if (!s.conflict) counts.conflictingSockets++;
            s.conflict = true;
            return;
          }
          s.writeOffset.push(r.offset);
          s.writeLength.push(r.length);
          s.writeCtx.push(r.ctx);
          if (s.writeOffset.length > MAX_WRITES) {
            const drop = s.writeOffset.length - (MAX_WRITES >> 1);
            s.writeOffset.splice(0, drop);
            s.writeLength.splice(0, drop);
            s.writeCtx.splice(0, drop);
          }
          return;
        }
        case 'flush': {
          if (!r.sync) return;
          const s = sockOf(p, r.sock);
          s.windows.push({ offset: r.offset, length: r.length, t0: r.t0 + offsetNs, t1: r.t1 + offsetNs });
          trim(s.windows, MAX_WINDOWS);
          return;
        }
        case 'closed': {
          const s = p.sockets.get(r.sock);
          if (s) s.closedAtUnixNano = p.untilUnixNano;
          return;
        }
        case 'until': {
          const wall = r.monoNs + offsetNs;
          if (wall > p.untilUnixNano) p.untilUnixNano = wall;
          learn(p);
          prune(p);
          return;
        }
        case 'dropped':
          counts.droppedReports += r.count;
          return;
        case 'invalid':
          counts.invalidReports++;
          return;
        case 'hello':
          return;
      }
    },
    observeEgress(pid, tuple, tcpSeq, startUnixNano) {
      const p = procs.get(pid);
      if (!p) return;
      p.pendingEgress.push({ key: tupleKey(tuple), seq: tcpSeq >>> 0, start: startUnixNano });
      if (p.pendingEgress.length > MAX_PENDING_EGRESS) p.pendingEgress.splice(0, p.pendingEgress.length - (MAX_PENDING_EGRESS >> 1));
    },
    inboundFor(pid, outbound, tcpSeq) {
      const p = procs.get(pid);
      if (!p) return undefined;
      learn(p);
      const s = p.byTuple.get(tupleKey(outbound));
      if (!s || s.conflict) return undefined;
      if (s.delta === null) return undefined;
      const n = s.writeOffset.length;
      if (n === 0) return undefined;
      const lastEnd = (s.writeOffset[n - 1] as number) + (s.writeLength[n - 1] as number);
      const off32 = ((tcpSeq >>> 0) - s.delta + TWO32) % TWO32;
      // The full offset is the one in the wrap (4 GiB) that ends at or before the newest report.
      let full = Math.floor(lastEnd / TWO32) * TWO32 + off32;
      if (full >= lastEnd) full -= TWO32;
      if (full < 0) return undefined;
      // Only a message that starts a write() call: a message inside one call shares it with
      // others, and a library batching several requests' messages into one call (ioredis
      // auto-pipelining) writes them all under whichever context flushed the batch.
      const i = writeAtOrBefore(s, full);
      if (i < 0 || s.writeOffset[i] !== full) return undefined;
      const ctx = s.writeCtx[i] as number;
      if (ctx === 0) return undefined;
      return p.contexts.get(ctx);
    },
    reportedUntil(pid) {
      return procs.get(pid)?.untilUnixNano ?? 0n;
    },
    has(pid) {
      return procs.has(pid);
    },
    forget(pid) {
      procs.delete(pid);
    },
    stats() {
      return { ...counts };
    },
  };
}
