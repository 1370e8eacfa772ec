/**
 * @module Per-thread evidence for the syscall link: which inbound request an outbound call serves.
 *
 * The kernel's per-thread syscall trace id (DeepFlow's rule: an inbound message opens an id, the
 * thread's next outbound message takes it) is right only while a thread serves one request at a
 * time. On an event loop (Node.js, nginx, any epoll server) one thread has many requests open at
 * once, and the id names whichever message the thread read last — often another request's. A
 * wrong parent is worse than none, so the agent records, for every outbound message, what the
 * thread was doing when the message started, and decides from that:
 *
 * - `thread`: the thread had exactly one inbound request open (read, not yet answered), read
 *   no other inbound request since it, and has never served two at once: the call serves that
 *   request. Certain. (A thread once seen with two requests open is an event loop: there, timers
 *   and background work run while one request happens to be open, so only the runtime can tell.)
 * - `runtime`: the process's own async context said which inbound request the call serves (the
 *   Node.js hook, src/agent/runtime). Certain.
 * - `ambiguous`: several inbound requests were open on the thread. The candidates are recorded,
 *   never used as a parent.
 * - `none`: no inbound request was open on the thread (a client, a timer, a background job).
 *
 * Which end of a connection the process is on is sometimes known only after the first message
 * was parsed, so candidates are taken wide when the message starts (every connection whose
 * current message is inbound and is not known to be a client) and narrowed when the span is
 * finished. Anything unknown counts against certainty: an inbound read of unknown side after the
 * candidate makes the link ambiguous, never certain.
 */
import type { LinkEvidence } from '../../model/index.js';
import type { DataEvent } from '../capture/capture-event.js';

/** What evidence needs to know of a connection: its side, settled late, and its tuple. */
export interface EvidenceConnection {
  side: 'client' | 'server' | null;
  ev: Pick<DataEvent, 'localIp' | 'localPort' | 'remoteIp' | 'remotePort' | 'pid'>;
  /**
   * The connection's inbound request while it is open, kept by ThreadEvidence on the connection
   * itself: map inserts and deletes per request cost more than the rest of the bookkeeping.
   */
  evidenceOpen?: InboundEntry | null;
}

export interface InboundEntry {
  conn: EvidenceConnection;
  /** The thread that read it, and its index in that thread's open list. */
  tid: number;
  slot: number;
  /** The syscall trace id of the inbound request (what its s-p carries as syscallTraceIdReq). */
  syscallTraceId: number;
  /** The thread's inbound-read counter when this request was read. */
  ordinal: number;
  /** When the request's first byte was read. */
  startUnixNano: bigint;
}

interface ThreadState {
  /** Counts inbound message starts (requests, or messages of unknown side) on this thread. */
  ordinal: number;
  /** Open inbound requests, unordered (removal swaps in the last); usually zero or one. */
  open: InboundEntry[];
  /**
   * The thread has had two requests open at once: an event loop. Its timers and background work
   * (a client library's keep-alive PING, a flush after the response) run while some request is
   * open, so "one request open" no longer means "working for it".
   */
  multiplexed: boolean;
}

/** What the thread held when an outbound message started. */
export interface OutboundSnapshot {
  startUnixNano: bigint;
  pid: number;
  candidates: InboundEntry[];
  /** The thread's ordinal at that moment: a candidate read later than every other is `ordinal`. */
  ordinal: number;
  /** The thread had been seen serving two requests at once before (an event loop). */
  multiplexed: boolean;
}

export interface EvidenceDecision {
  evidence: LinkEvidence;
  /** The served request's syscall trace id when certain, else 0. */
  syscallTraceId: number;
  /** Open inbound requests on the thread (after narrowing to known servers). */
  openInbound: number;
  /** Candidates' syscall trace ids when ambiguous. */
  candidates: number[];
}

/** Tuple of a connection as the runtime hook names it (the process's side). */
export interface ConnTuple {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

/** What a runtime reported a message serves: a connection, and when its request began, if known. */
export interface RuntimeInbound extends ConnTuple {
  /** When the process began handling the request (after reading it). */
  requestStartUnixNano?: bigint;
}

/** Threads tracked at most; a busy host has far fewer threads doing socket I/O. */
const MAX_THREADS = 65_536;
/** Snapshots kept per connection (outbound messages whose span is not finished yet). */
export const MAX_SNAPSHOTS_PER_CONNECTION = 64;

export class ThreadEvidence {
  private readonly threads = new Map<number, ThreadState>();
  private thread(tid: number): ThreadState {
    let t = this.threads.get(tid);
    if (!t) {
      if (this.threads.size >= MAX_THREADS) {
        // Forget the oldest-created threads; their open requests become unknown (missing links).
        const drop = this.threads.keys().next().value as number;
        const st = this.threads.get(drop);
        if (st) for (const e of st.open) e.conn.evidenceOpen = null;
        this.threads.delete(drop);
      }
      t = { ordinal: 0, open: [], multiplexed: false };
      this.threads.set(tid, t);
    }
    return t;
  }

  /**
   * A message starts on `conn` with its first syscall `ev`. Returns the snapshot to keep when the
   * message may be an outbound request (egress on a connection not known to be a server).
   */
  onMessageStart(conn: EvidenceConnection, ev: DataEvent): OutboundSnapshot | undefined {
    if (ev.tid === 0) return undefined; // packets: no thread to reason about
    if (ev.direction === 'ingress') {
      if (conn.side === 'client') return undefined; // a response to one of our calls
      this.close(conn); // a keep-alive connection's next request replaces the previous one
      const t = this.thread(ev.tid);
      t.ordinal++;
      const entry: InboundEntry = { conn, tid: ev.tid, slot: t.open.length, syscallTraceId: ev.syscallTraceId, ordinal: t.ordinal, startUnixNano: ev.startUnixNano };
      t.open.push(entry);
      if (t.open.length > 1) t.multiplexed = true;
      conn.evidenceOpen = entry;
      return undefined;
    }
    // Egress: on a server connection it answers the open request; otherwise it may be a call.
    if (conn.side === 'server') {
      this.close(conn);
      return undefined;
    }
    const wasOpen = !!conn.evidenceOpen;
    // Unknown side and we had read first: this is most likely a server answering. Either way
    // the connection's own inbound message is no longer open.
    this.close(conn);
    if (conn.side === null && wasOpen) return undefined;
    const t = this.threads.get(ev.tid);
    return {
      startUnixNano: ev.startUnixNano,
      pid: ev.pid,
      candidates: t ? openInOrder(t) : [],
      ordinal: t?.ordinal ?? 0,
      multiplexed: t?.multiplexed ?? false,
    };
  }

  /**
   * A further write of an outbound message already started (a pipelining client): what its thread
   * holds now. Undefined on a connection known, or likely, to be a server's.
   */
  onWrite(conn: EvidenceConnection, ev: DataEvent): OutboundSnapshot | undefined {
    if (ev.tid === 0 || conn.side === 'server' || conn.evidenceOpen) return undefined;
    const t = this.threads.get(ev.tid);
    return { startUnixNano: ev.startUnixNano, pid: ev.pid, candidates: t ? openInOrder(t) : [], ordinal: t?.ordinal ?? 0, multiplexed: t?.multiplexed ?? false };
  }

  /** The connection is gone (closed or evicted): its request is no longer open. */
  close(conn: EvidenceConnection): void {
    const entry = conn.evidenceOpen;
    if (!entry) return;
    conn.evidenceOpen = null;
    const open = this.threads.get(entry.tid)?.open;
    if (!open || open[entry.slot] !== entry) return;
    const last = open.pop() as InboundEntry;
    if (last !== entry) {
      last.slot = entry.slot;
      open[entry.slot] = last;
    }
  }

  /** Threads tracked (for tests and stats). */
  threadCount(): number {
    return this.threads.size;
  }
}

/** A thread's open requests in the order they were read (candidates are named in that order). */
function openInOrder(t: ThreadState): InboundEntry[] {
  const list = t.open.slice();
  if (list.length > 1) list.sort((a, b) => a.ordinal - b.ordinal);
  return list;
}

/**
 * Decides a finished outbound span's link from its snapshot. `runtimeInbound` is what the
 * process's runtime reported for this message (undefined when it reported nothing).
 */
export function decideEvidence(snap: OutboundSnapshot | undefined, runtimeInbound?: RuntimeInbound): EvidenceDecision {
  if (!snap) return { evidence: 'none', syscallTraceId: 0, openInbound: 0, candidates: [] };
  // Narrow to connections now known to be servers (a message of unknown side may have turned
  // out to be a response on a client connection).
  const servers = snap.candidates.filter((c) => c.conn.side === 'server');
  if (runtimeInbound) {
    // The open request on that connection, and not an earlier one on the same keep-alive
    // connection (a call made after its request was answered): the process began handling the
    // reported request after the open one's first byte was read.
    const began = runtimeInbound.requestStartUnixNano;
    const hit = servers.filter((c) => sameTuple(c.conn.ev, runtimeInbound) && (began === undefined || c.startUnixNano <= began));
    if (hit.length === 1) {
      const h = hit[0] as InboundEntry;
      return { evidence: 'runtime', syscallTraceId: h.syscallTraceId, openInbound: servers.length, candidates: [] };
    }
  }
  if (servers.length === 0) return { evidence: 'none', syscallTraceId: 0, openInbound: 0, candidates: [] };
  const only = servers.length === 1 ? (servers[0] as InboundEntry) : undefined;
  // Every other candidate (unknown side, now known not to be a server) must have been read
  // before it: an inbound read after the request means the thread turned to other work.
  if (only && only.ordinal === snap.ordinal && only.syscallTraceId !== 0 && !snap.multiplexed) {
    return { evidence: 'thread', syscallTraceId: only.syscallTraceId, openInbound: 1, candidates: [] };
  }
  return {
    evidence: 'ambiguous',
    syscallTraceId: 0,
    openInbound: servers.length,
    candidates: servers.map((c) => c.syscallTraceId).filter((x) => x !== 0),
  };
}

function sameTuple(a: ConnTuple, b: ConnTuple): boolean {
  return a.localPort === b.localPort && a.remotePort === b.remotePort && a.remoteIp === b.remoteIp && (a.localIp === b.localIp || a.localIp === '' || b.localIp === '');
}
