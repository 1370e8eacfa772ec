/**
 * @module Connection tracking: capture events → messages → exchanges → SYS/NET SpanRecords.
 *
 * Per socket it keeps the message being assembled in each direction, the detected protocol and
 * its pairing state. Memory is bounded: a cap on connections (least recently used are evicted),
 * a cap on bytes per message, and the protocol's own cap on pending requests. Requests without a
 * response are closed as `timeout` after `requestTimeoutNano`. Events of one batch are ordered by
 * time first, because two CPUs fill the ring buffer concurrently and may interleave.
 */
import { LINK_CANDIDATES_ATTR, LINK_EVIDENCE_ATTR, OPEN_INBOUND_ATTR, type ObservationPoint, type SpanRecord, type SpanSource, type SpanOrigin } from '../../model/index.js';
import type { DataEvent, SessionInputEvent } from '../capture/capture-event.js';
import type { ConnInfo } from '../protocols/protocol.js';
import type { L7Connection, L7Protocol, MessageRole } from './l7-port.js';
import { MessageBuilder, type Message } from './messages.js';
import {
  MAX_SNAPSHOTS_PER_CONNECTION,
  ThreadEvidence,
  decideEvidence,
  type ConnTuple,
  type InboundEntry,
  type OutboundSnapshot,
  type RuntimeInbound,
} from './thread-evidence.js';

export interface SessionOptions {
  /** The agent's id, written to every span's hostId. */
  hostId: string;
  protocols: readonly L7Protocol[];
  /** SYS spans from eBPF, or NET spans from packets. */
  source: Extract<SpanSource, 'sys' | 'net'>;
  origin: Extract<SpanOrigin, 'ebpf' | 'packet' | 'pcap'>;
  maxConnections: number;
  maxMessageBytes: number;
  requestTimeoutNano: bigint;
  idleTimeoutNano: bigint;
  /** A message with no new syscall for this long is complete (its response may be paired). */
  messageIdleNano: bigint;
  /** Messages on a connection before giving up detection. */
  maxDetectAttempts: number;
  /** Generates unique 16-hex span ids (injected so tests are deterministic). */
  newSpanId: () => string;
  /**
   * Packets seen at one capture point: every span gets this observation point, whichever end
   * of the flow the events present as local (the side still decides client and server).
   */
  fixedObservationPoint?: ObservationPoint;
  /**
   * What a process's own runtime reported about an outbound message: the inbound connection
   * (process side) whose request caused it (src/agent/runtime). SYS sources only.
   */
  runtimeInbound?: (pid: number, outbound: ConnTuple, tcpSeq: number, startUnixNano: bigint) => RuntimeInbound | undefined;
  /** True while the runtime may still report on a message of `pid` that started then (its report is in flight). */
  runtimePending?: (pid: number, startUnixNano: bigint) => boolean;
}

export const DEFAULT_SESSION_OPTIONS = {
  maxConnections: 65_536,
  maxMessageBytes: 4096,
  requestTimeoutNano: 30_000_000_000n,
  idleTimeoutNano: 120_000_000_000n,
  messageIdleNano: 10_000_000n,
  maxDetectAttempts: 4,
} as const;

export interface SessionStats {
  connections: number;
  evictedConnections: number;
  undetectedMessages: number;
  exchanges: number;
  timeouts: number;
  /** Connections ended because their socket id came back for another socket (a close not seen). */
  reusedSockets: number;
}

type Side = 'client' | 'server';

/** What a connection keeps of its first event: who and where, never its bytes (see onData). */
type ConnectionFacts = Omit<DataEvent, 'payload' | 'kept'>;

interface Connection {
  ev: ConnectionFacts; // first event: 5-tuple, pid, comm
  protocol: L7Protocol | null;
  l7: L7Connection | null;
  detectAttempts: number;
  /** Which side of the connection this process is on, once known. */
  side: Side | null;
  building: MessageBuilder | null;
  /**
   * The events of the message being built while the protocol is unknown (TCP), up to
   * MAX_DETECT_EVENTS: a self-delimiting protocol (HTTP/2) detected on it reads them one by one,
   * as it reads every later event, instead of the joined, capped message (whose bytes stop at the
   * first gap: a connection's first requests with bodies would lose the ones after the first body).
   */
  detectEvents: DataEvent[] | null;
  lastSeenUnixNano: bigint;
  /** The oldest pending request start, for timeouts. */
  oldestPendingUnixNano: bigint;
  /** What the thread held when each recent outbound message started (SYS only; oldest first). */
  snapshots: OutboundSnapshot[];
  /** This connection's open inbound request, kept by ThreadEvidence (SYS only). */
  evidenceOpen: InboundEntry | null;
}

export interface SessionTable {
  /** Feeds a batch of events; returns the spans completed by it. */
  push(events: readonly SessionInputEvent[]): SpanRecord[];
  /** Closes timed-out requests and evicts idle connections, as of `nowUnixNano`. */
  sweep(nowUnixNano: bigint): SpanRecord[];
  /** Flushes everything (shutdown). */
  flush(): SpanRecord[];
  stats(): SessionStats;
}

function roleOf(side: Side, direction: DataEvent['direction']): MessageRole {
  // A client sends requests (egress) and receives responses; a server the other way round.
  return (side === 'client') === (direction === 'egress') ? 'request' : 'response';
}

type SocketEnds = Pick<DataEvent, 'transport' | 'localIp' | 'localPort' | 'remoteIp' | 'remotePort'>;

/**
 * Whether events of one socket id come from another socket than the connection's first event:
 * its own address or port differ, or (TCP: the peer is fixed for the socket's life) the peer's.
 * An unconnected UDP socket talks to many peers, so only its own end counts. Zero ports (a
 * record whose socket could not be read) say nothing.
 */
export function socketReused(first: SocketEnds, now: SocketEnds): boolean {
  if (now.localPort === 0 || first.localPort === 0) return false;
  if (now.transport !== first.transport || now.localPort !== first.localPort || now.localIp !== first.localIp) return true;
  if (now.transport === 'udp' || now.remotePort === 0 || first.remotePort === 0) return false;
  return now.remotePort !== first.remotePort || now.remoteIp !== first.remoteIp;
}

function observationPoint(source: 'sys' | 'net', side: Side): ObservationPoint {
  if (source === 'sys') return side === 'client' ? 'c-p' : 's-p';
  return side === 'client' ? 'c' : 's';
}

/**
 * Longest a client span waits for its process's runtime report after it ended, or after the
 * agent finished it if the agent runs behind the kernel (a loaded host: its events are read
 * later than they happened, and a wait counted from the span's end would be over before it began).
 */
const RUNTIME_WAIT_NANO = 500_000_000n;
/** Client spans held for runtime reports at most; past it the oldest is decided without one. */
const MAX_AWAITING_RUNTIME = 65_536;

/** Events of a message kept for a self-delimiting protocol detected on it (see Connection.detectEvents). */
const MAX_DETECT_EVENTS = 256;
/** Bytes of a datagram's payload that go into its fingerprint. */
const FINGERPRINT_PAYLOAD_BYTES = 64;
/** When the connection table is full, 1/EVICT_FRACTION of it (the least recently seen) goes. */
const EVICT_FRACTION = 16;

/**
 * UDP has no sequence numbers, yet a datagram is one message seen unchanged by both ends (and by
 * every NIC between them). Its fingerprint — FNV-1a over the two endpoints, ordered so both
 * sides agree, and the payload's first bytes — stands in for the tcp seq, so a DNS query's c-p
 * and s-p (and its NET spans) share a key the store indexes and assembly chains, as a TCP
 * message's seq does. Never 0 (0 means "no seq").
 */
export function datagramFingerprint(ev: DataEvent): number {
  const a = `${ev.localIp}:${ev.localPort}`;
  const b = `${ev.remoteIp}:${ev.remotePort}`;
  const ends = a < b ? a + '|' + b : b + '|' + a;
  let h = 0x811c9dc5;
  for (let i = 0; i < ends.length; i++) h = Math.imul(h ^ ends.charCodeAt(i), 0x01000193);
  const n = Math.min(ev.payload.length, FINGERPRINT_PAYLOAD_BYTES);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ (ev.payload[i] as number), 0x01000193);
  return (h >>> 0) || 1;
}

interface AwaitingSpan {
  conn: Connection;
  span: SpanRecord;
  /** What its thread held when it was written (snapshotOf). */
  snap: OutboundSnapshot | undefined;
  deadline: bigint;
  /** A sweep already found the deadline past; the next one decides (see releaseProcess). */
  overdue: boolean;
}

/** A FIFO read from `head`, compacted now and then, so releasing is not O(n) per span. */
interface AwaitingQueue {
  items: AwaitingSpan[];
  head: number;
}

export function createSessionTable(options: SessionOptions): SessionTable {
  const conns = new Map<bigint, Connection>();
  /** connect()/accept() seen before the socket's first data: which side the process is on. */
  const sideHints = new Map<bigint, Side>();
  const MAX_SIDE_HINTS = 65_536;
  const stats: SessionStats = { connections: 0, evictedConnections: 0, undetectedMessages: 0, exchanges: 0, timeouts: 0, reusedSockets: 0 };

  const evidence = options.source === 'sys' ? new ThreadEvidence() : null;

  /**
   * The syscall link of a SYS span, decided from what its thread held (thread-evidence.ts): a
   * client span takes the syscall id of the inbound request it serves only when that is certain;
   * otherwise 0, with the candidates named. Response-side ids are per-thread "last message read"
   * ids that name the wrong request on an event loop, so they are not shipped.
   */
  function stampEvidence(conn: Connection, span: SpanRecord, snap: OutboundSnapshot | undefined): void {
    span.syscallTraceIdResp = 0;
    if (span.observationPoint !== 'c-p') return;
    const ev = conn.ev;
    const runtime = snap && options.runtimeInbound ? options.runtimeInbound(ev.pid, ev, span.reqTcpSeq, span.startTimeUnixNano) : undefined;
    const d = decideEvidence(snap, runtime);
    span.syscallTraceIdReq = d.syscallTraceId;
    span.attributes[LINK_EVIDENCE_ATTR] = d.evidence;
    if (d.openInbound > 0) span.attributes[OPEN_INBOUND_ATTR] = d.openInbound;
    if (d.candidates.length > 0) span.attributes[LINK_CANDIDATES_ATTR] = d.candidates.join(',');
  }

  /**
   * What the thread held when the client span's request was written: the newest snapshot taken
   * at or before its start. Taken as the span finishes, not when it is decided: a span waiting
   * for its runtime report would otherwise find its snapshot pushed out by the writes of the
   * requests that came meanwhile (a burst after it: 64 writes on one pipelined connection).
   */
  function snapshotOf(conn: Connection, span: SpanRecord): OutboundSnapshot | undefined {
    if (span.observationPoint !== 'c-p') return undefined;
    let at = -1;
    for (let k = 0; k < conn.snapshots.length && (conn.snapshots[k] as OutboundSnapshot).startUnixNano <= span.startTimeUnixNano; k++) at = k;
    const snap = at >= 0 ? conn.snapshots[at] : undefined;
    // Spans finish in request order on a connection: older snapshots will not be asked for again.
    if (at > 0) conn.snapshots.splice(0, at);
    return snap;
  }

  /**
   * Client spans of processes whose runtime reports links, held until the report covering them
   * has arrived (reports travel on their own socket and may trail the kernel's events), or until
   * RUNTIME_WAIT_NANO after the span ended. One queue per process, oldest first, so one process's
   * slow reports never hold back another's spans; released by `sweep`.
   */
  const awaitingRuntime = new Map<number, AwaitingQueue>();
  let awaitingCount = 0;
  /** The latest `sweep` time: how far the agent has got, in wall-clock ns. */
  let sweptUntil = 0n;

  /** Releases the head of `pid`'s queue while its report is no longer pending or its wait is over (`now` null: all). */
  function releaseProcess(pid: number, queue: AwaitingQueue, now: bigint | null, out: SpanRecord[], limit = Infinity): void {
    let released = 0;
    while (queue.head < queue.items.length && released < limit) {
      const w = queue.items[queue.head]!;
      const stillPending = options.runtimePending?.(pid, w.span.startTimeUnixNano) ?? false;
      if (now !== null && stillPending && now < w.deadline) break;
      // The first sweep past the deadline only marks it: after a stall of the agent's own event
      // loop (a loaded host: 1.2 s was seen), timers run before the poll phase that reads the
      // reports which arrived meanwhile, so a wait would end with its report already received
      // but not read. The next sweep comes after such a read.
      if (now !== null && stillPending && !w.overdue) {
        w.overdue = true;
        break;
      }
      queue.items[queue.head++] = undefined as unknown as AwaitingSpan;
      awaitingCount--;
      released++;
      stampEvidence(w.conn, w.span, w.snap);
      out.push(w.span);
    }
    if (queue.head === queue.items.length) awaitingRuntime.delete(pid);
    else if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
      queue.items = queue.items.slice(queue.head);
      queue.head = 0;
    }
  }

  function release(now: bigint | null, out: SpanRecord[]): void {
    for (const [pid, queue] of awaitingRuntime) releaseProcess(pid, queue, now, out);
  }

  function finish(conn: Connection, spans: SpanRecord[], out: SpanRecord[]): void {
    for (const span of spans) {
      span.spanId = options.newSpanId();
      if (!span.service) span.service = conn.ev.comm;
      // Decrypted by the SSL_read/SSL_write uprobes: the bytes on the wire were TLS.
      if (conn.ev.tls) span.attributes['tls'] = true;
      if (span.responseStatus === 'timeout') stats.timeouts++;
      stats.exchanges++;
      const pid = conn.ev.pid;
      const queue = evidence && span.observationPoint === 'c-p' ? awaitingRuntime.get(pid) : undefined;
      if (evidence && span.observationPoint === 'c-p' && (queue || options.runtimePending?.(pid, span.startTimeUnixNano))) {
        // Keep a process's span order (a connection's snapshots are consumed in order): once one
        // waits, that process's later ones queue behind it.
        if (awaitingCount >= MAX_AWAITING_RUNTIME) {
          // Full: the oldest waiter of the longest queue is decided without its report.
          let longest: [number, AwaitingQueue] | null = null;
          for (const entry of awaitingRuntime) if (!longest || entry[1].items.length - entry[1].head > longest[1].items.length - longest[1].head) longest = entry;
          if (longest) releaseProcess(longest[0], longest[1], null, out, 1);
        }
        let q = awaitingRuntime.get(pid);
        if (!q) awaitingRuntime.set(pid, (q = { items: [], head: 0 }));
        const from = span.endTimeUnixNano > sweptUntil ? span.endTimeUnixNano : sweptUntil;
        q.items.push({ conn, span, snap: snapshotOf(conn, span), deadline: from + RUNTIME_WAIT_NANO, overdue: false });
        awaitingCount++;
        continue;
      }
      if (evidence) stampEvidence(conn, span, snapshotOf(conn, span));
      out.push(span);
    }
  }

  function connInfo(conn: Connection): ConnInfo {
    const ev = conn.ev;
    const client = conn.side === 'client';
    // The client is whoever sends requests.
    return {
      source: options.source,
      origin: options.origin,
      observationPoint: options.fixedObservationPoint ?? observationPoint(options.source, client ? 'client' : 'server'),
      ipVersion: ev.ipVersion,
      transport: ev.transport,
      clientIp: client ? ev.localIp : ev.remoteIp,
      clientPort: client ? ev.localPort : ev.remotePort,
      serverIp: client ? ev.remoteIp : ev.localIp,
      serverPort: client ? ev.remotePort : ev.localPort,
      processId: ev.pid,
      processName: ev.comm,
      hostId: options.hostId,
      interfaceName: ev.interfaceName,
    };
  }

  /** The first protocol (in registry order) whose detector gives `verdict` for either role. */
  function detectSide(msg: Message, serverPort: number, verdict: 'yes' | 'maybe'): { protocol: L7Protocol; side: Side } | null {
    for (const protocol of options.protocols) {
      for (const role of ['request', 'response'] as const) {
        if (protocol.detect(msg.bytes, role, serverPort) !== verdict) continue;
        return { protocol, side: (role === 'request') === (msg.direction === 'egress') ? 'client' : 'server' };
      }
    }
    return null;
  }

  function detect(conn: Connection, msg: Message): void {
    conn.detectAttempts++;
    if (conn.side) {
      // The side is known from connect/accept: only the role of this message is to be checked.
      const role = roleOf(conn.side, msg.direction);
      const serverPort = conn.side === 'client' ? conn.ev.remotePort : conn.ev.localPort;
      const found =
        options.protocols.find((p) => p.detect(msg.bytes, role, serverPort) === 'yes') ??
        (conn.ev.transport === 'udp' ? options.protocols.find((p) => p.detect(msg.bytes, role, serverPort) === 'maybe') : undefined);
      if (found) {
        conn.protocol = found;
        conn.l7 = found.open(connInfo(conn));
      }
      return;
    }
    // A message we send that looks like a request makes us the client, and so on. A datagram is
    // one whole message, so a structurally valid one ('maybe', e.g. DNS on a port other than 53)
    // is trusted too: there is no stream to mis-frame.
    const serverPortGuess = msg.direction === 'egress' ? conn.ev.remotePort : conn.ev.localPort;
    const found = detectSide(msg, serverPortGuess, 'yes') ?? (conn.ev.transport === 'udp' ? detectSide(msg, 0, 'maybe') : null);
    if (found) {
      conn.protocol = found.protocol;
      conn.side = found.side;
      conn.l7 = found.protocol.open(connInfo(conn));
    }
  }

  function completeMessage(conn: Connection, msg: Message, out: SpanRecord[]): void {
    const events = conn.detectEvents;
    conn.detectEvents = null;
    if (!conn.protocol) {
      if (conn.detectAttempts >= options.maxDetectAttempts) {
        stats.undetectedMessages++;
        return;
      }
      detect(conn, msg);
      if (!conn.protocol) {
        stats.undetectedMessages++;
        return;
      }
    }
    const role = roleOf(conn.side!, msg.direction);
    const onChunk = conn.l7!.onChunk;
    if (events && onChunk) for (const ev of events) finish(conn, onChunk(role, ev), out);
    else finish(conn, conn.l7!.onMessage(role, msg), out);
    trackPending(conn, role, msg.startUnixNano);
  }

  function trackPending(conn: Connection, role: MessageRole, startUnixNano: bigint): void {
    if (role === 'request' && conn.oldestPendingUnixNano === 0n) conn.oldestPendingUnixNano = startUnixNano;
    if (conn.l7!.pending() === 0) conn.oldestPendingUnixNano = 0n;
  }

  function flushConnection(conn: Connection, out: SpanRecord[]): void {
    if (conn.building) {
      completeMessage(conn, conn.building.finish(), out);
      conn.building = null;
    }
    if (conn.l7) {
      // A frame left unfinished by an idle-ended message will get no more bytes now.
      finish(conn, conn.l7.endStreams(), out);
      finish(conn, conn.l7.drain(), out);
    }
    conn.oldestPendingUnixNano = 0n;
  }

  /**
   * Evicts the least recently seen connections, a sixteenth of the table at a time, so the scan
   * is paid once per many new connections (re-inserting on every event to keep LRU order cost
   * more than the parsing of the event; see BENCHMARKS.md, agent capacity).
   */
  function evictOldest(out: SpanRecord[]): void {
    const count = Math.max(1, Math.floor(options.maxConnections / EVICT_FRACTION));
    const oldest = [...conns.entries()].sort((a, b) => (a[1].lastSeenUnixNano < b[1].lastSeenUnixNano ? -1 : a[1].lastSeenUnixNano > b[1].lastSeenUnixNano ? 1 : 0)).slice(0, count);
    for (const [id, conn] of oldest) {
      flushConnection(conn, out);
      evidence?.close(conn);
      conns.delete(id);
      stats.evictedConnections++;
    }
  }

  function keepSnapshot(conn: Connection, snap: OutboundSnapshot | undefined): void {
    if (!snap) return;
    if (conn.snapshots.length >= MAX_SNAPSHOTS_PER_CONNECTION) conn.snapshots.shift();
    conn.snapshots.push(snap);
  }

  /**
   * Ends a connection whose socket id now names another socket. The kernel reuses a socket's
   * memory (its id, for eBPF) as soon as it is freed, and a close can go unseen (a process that
   * exits with the socket open, a ring-buffer drop under load): the new socket's messages would
   * otherwise be told with the old one's process and addresses (seen at 128 requests in flight:
   * a middle tier's s-p carrying a port and pid of a finished connection of another process).
   */
  function retireIfReused(id: bigint, conn: Connection, now: SocketEnds, out: SpanRecord[]): boolean {
    if (!socketReused(conn.ev, now)) return false;
    flushConnection(conn, out);
    evidence?.close(conn);
    conns.delete(id);
    stats.reusedSockets++;
    return true;
  }

  function onData(ev: DataEvent, out: SpanRecord[]): void {
    let conn = conns.get(ev.socketId);
    if (conn && retireIfReused(ev.socketId, conn, ev, out)) conn = undefined;
    if (!conn) {
      if (conns.size >= options.maxConnections) evictOldest(out);
      const hinted = sideHints.get(ev.socketId) ?? null;
      sideHints.delete(ev.socketId);
      // The event's bytes are a view into its whole poll buffer (megabytes under load): kept for
      // the connection's life, every connection would pin the poll it first appeared in.
      const { payload: _payload, kept: _kept, ...facts } = ev;
      conn = { ev: facts, protocol: null, l7: null, detectAttempts: 0, side: hinted, building: null, detectEvents: null, lastSeenUnixNano: 0n, oldestPendingUnixNano: 0n, snapshots: [], evidenceOpen: null };
      stats.connections++;
      conns.set(ev.socketId, conn);
    }
    conn.lastSeenUnixNano = ev.endUnixNano;

    const datagram = ev.transport === 'udp';
    const b = conn.building;
    if (b && !datagram && b.message.direction === ev.direction) {
      // A pipelining client writes several requests, for different inbound requests, as one
      // message: what the thread served is taken at every write, and each request's span takes
      // the write that carried its first byte.
      if (evidence && ev.direction === 'egress') keepSnapshot(conn, evidence.onWrite(conn, ev));
      b.append(ev);
      if (conn.detectEvents) {
        if (conn.detectEvents.length < MAX_DETECT_EVENTS) conn.detectEvents.push(ev);
        else conn.detectEvents = null;
      }
      return;
    }
    if (b) completeMessage(conn, b.finish(), out);
    if (evidence) keepSnapshot(conn, evidence.onMessageStart(conn, ev));
    if (!datagram && conn.l7?.onChunk) {
      // A self-delimiting protocol (HTTP/2) takes bytes as they come, not joined into capped messages.
      conn.building = null;
      const role = roleOf(conn.side!, ev.direction);
      finish(conn, conn.l7.onChunk(role, ev), out);
      trackPending(conn, role, ev.startUnixNano);
      return;
    }
    conn.building = new MessageBuilder(datagram && ev.tcpSeq === 0 ? { ...ev, tcpSeq: datagramFingerprint(ev) } : ev, options.maxMessageBytes);
    conn.detectEvents = conn.protocol || datagram ? null : [ev];
    // Each datagram is a whole message.
    if (datagram) {
      completeMessage(conn, conn.building.finish(), out);
      conn.building = null;
    }
  }

  return {
    push(events) {
      const out: SpanRecord[] = [];
      const sorted = [...events].sort((a, b) => {
        const ta = a.kind === 'data' ? a.startUnixNano : a.unixNano;
        const tb = b.kind === 'data' ? b.startUnixNano : b.unixNano;
        return ta < tb ? -1 : ta > tb ? 1 : 0;
      });
      for (const ev of sorted) {
        if (ev.kind === 'data') {
          onData(ev, out);
        } else if (ev.kind === 'connect' || ev.kind === 'accept') {
          const side: Side = ev.kind === 'connect' ? 'client' : 'server';
          let conn = conns.get(ev.socketId);
          // connect()/accept() begin a socket's life: a connection already under its id is a finished one's.
          // (eBPF's records carry the socket's addresses; a packet flow's say only the side.)
          if (conn && 'localPort' in ev && retireIfReused(ev.socketId, conn, ev as typeof ev & SocketEnds, out)) conn = undefined;
          if (conn) {
            if (!conn.protocol) conn.side = side;
          } else {
            if (sideHints.size >= MAX_SIDE_HINTS) sideHints.clear();
            sideHints.set(ev.socketId, side);
          }
        } else if (ev.kind === 'close') {
          const conn = conns.get(ev.socketId);
          if (conn) {
            flushConnection(conn, out);
            evidence?.close(conn);
            conns.delete(ev.socketId);
          }
        }
        // exec/exit records carry nothing sessions need.
      }
      return out;
    },
    sweep(now) {
      const out: SpanRecord[] = [];
      if (now > sweptUntil) sweptUntil = now;
      release(now, out);
      for (const [id, conn] of conns) {
        // A message idle for a while is complete: nothing else will extend it.
        if (conn.building && now - conn.lastSeenUnixNano > options.messageIdleNano) {
          const msg = conn.building.finish();
          msg.endedIdle = true;
          completeMessage(conn, msg, out);
          conn.building = null;
        }
        if (conn.oldestPendingUnixNano !== 0n && now - conn.oldestPendingUnixNano > options.requestTimeoutNano && conn.l7) {
          finish(conn, conn.l7.drain(), out);
          conn.oldestPendingUnixNano = 0n;
        }
        if (now - conn.lastSeenUnixNano > options.idleTimeoutNano) {
          flushConnection(conn, out);
          evidence?.close(conn);
          conns.delete(id);
        }
      }
      return out;
    },
    flush() {
      const out: SpanRecord[] = [];
      for (const conn of conns.values()) flushConnection(conn, out);
      release(null, out);
      conns.clear();
      return out;
    },
    stats: () => ({ ...stats, connections: conns.size }),
  };
}
