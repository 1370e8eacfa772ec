/**
 * @module What every capture source (eBPF, pcap, replay) yields: one record per data syscall
 * (or per packet payload), plus connection lifecycle records.
 *
 * The sessions layer consumes only this type, so the whole pipeline runs from fixture files in
 * CI without root, and eBPF and packet capture share everything after decoding.
 */

export type Direction = 'ingress' | 'egress';

/** One chunk of application bytes that crossed a socket (or a NIC) in one direction. */
export interface DataEvent {
  kind: 'data';
  /** Stable id of the socket (eBPF) or of the flow and capture point (packets). */
  socketId: bigint;
  pid: number;
  tid: number;
  comm: string;
  direction: Direction;
  /** Wall-clock ns when the syscall entered / exited (packets: both the capture time). */
  startUnixNano: bigint;
  endUnixNano: bigint;
  /** Bytes the syscall moved (its return value); may exceed `payload.length`. */
  totalBytes: number;
  /** The first bytes of the chunk, as captured (at most the configured prefix). */
  payload: Uint8Array;
  transport: 'tcp' | 'udp';
  ipVersion: 4 | 6;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** TCP sequence number of the chunk's first byte; 0 for UDP or when unknown. */
  tcpSeq: number;
  /** The per-thread syscall trace id the kernel assigned to this chunk; 0 when none. */
  syscallTraceId: number;
  /** The kernel saw a direction change on this socket: this chunk starts a new message. */
  messageStart: boolean;
  /** NET spans only: the interface the packet was seen on. '' for SYS events. */
  interfaceName: string;
  /** Plaintext of a TLS connection (SSL_read/SSL_write uprobes), not the socket's own bytes. */
  tls?: boolean;
  /**
   * The chunk was read with parts left out (eBPF's HTTP/2 frame walk: DATA payloads): every kept
   * byte, and where the left-out runs were. `payload` is then the kept bytes before the first gap
   * (a plain prefix for readers that do not look here).
   */
  kept?: KeptBytes;
}

/** A chunk's bytes with runs left out, each run's place and length known exactly. */
export interface KeptBytes {
  /** The kept bytes, in order. */
  data: Uint8Array;
  /** Left-out runs: `len` bytes of the chunk that came right before kept byte `at` (ascending `at`, each len > 0). */
  gaps: readonly { at: number; len: number }[];
}

/** A socket was closed (or a flow ended): its session can be flushed and forgotten. */
export interface CloseEvent {
  kind: 'close';
  socketId: bigint;
  pid: number;
  unixNano: bigint;
}

export type CaptureEvent = DataEvent | CloseEvent;

/**
 * The kernel saw connect() (this process is the client) or accept() (the server) on a socket.
 * It settles which side the process is on before any data flows; without it the side is inferred
 * from the first message the protocol recognises.
 */
export interface SideEvent {
  kind: 'connect' | 'accept';
  socketId: bigint;
  unixNano: bigint;
}

/** Process lifecycle records: not used by sessions, passed over. */
export interface ProcessLifecycleEvent {
  kind: 'exec' | 'exit';
  unixNano: bigint;
}

/**
 * A frame seen on a network interface (NET capture), raw from its link-layer header: the packet
 * path (src/agent/capture/net-sessions.ts) turns frames into DataEvents; the socket sessions
 * pass over them.
 */
export interface FrameEvent {
  kind: 'frame';
  ifindex: number;
  direction: Direction;
  unixNano: bigint;
  /** The frame's length on the wire (may exceed data.length). */
  wireBytes: number;
  data: Buffer;
}

/** Everything the sessions layer accepts from a source. */
export type SessionInputEvent = CaptureEvent | SideEvent | ProcessLifecycleEvent | FrameEvent;

/** A capture source: batches of events, in roughly time order (two CPUs may interleave). */
export type CaptureSource = AsyncIterable<readonly SessionInputEvent[]>;
