/**
 * @module Live NET capture's session layer: frames from tc on the agent's interfaces → decoded
 * packets → flows in sequence order (the same code as capture-file import) → a session table
 * of its own (source `net`, origin `packet`). The end of a flow that sends through the interface
 * is its local end, so a request leaving a client's NIC gives a span at `c`, one arriving at a
 * server's NIC a span at `s`.
 *
 * It has the session table's shape, so the agent loop drives it next to the socket sessions.
 */
import type { SpanRecord } from '../../model/index.js';
import type { FrameEvent, SessionInputEvent } from './capture-event.js';
import { decodePacket } from './pcap/packet-decode.js';
import { createPacketFlows } from './pcap/packet-flows.js';
import type { SessionTable } from '../sessions/session-table.js';

/** Frames from tc start at the Ethernet header (loopback too: it carries a zeroed one). */
const LINKTYPE_ETHERNET = 1;

export interface NetSessionsOptions {
  /** The packet session table (source `net`, origin `packet`). */
  table: SessionTable;
  /** Interface names by ifindex, for the spans' interfaceName. */
  interfaces: ReadonlyMap<number, string>;
  /** Only flows with one of these ports (empty: all), as the socket filter does. */
  ports?: readonly number[];
  /** Flows quiet for this long are closed (default 120 s). */
  flowIdleNano?: bigint;
}

export interface NetSessionStats {
  frames: number;
  /** Frames that were not TCP/UDP over IP (or outside the port filter). */
  skippedFrames: number;
  gapBytes: number;
}

export function createNetSessions(o: NetSessionsOptions): SessionTable & { netStats(): NetSessionStats } {
  const flows = createPacketFlows();
  const ports = new Set(o.ports ?? []);
  const idle = o.flowIdleNano ?? 120_000_000_000n;
  let frames = 0;
  let skipped = 0;
  let lastExpire = 0n;
  const toEvents = (f: FrameEvent): SessionInputEvent[] => {
    frames++;
    const p = decodePacket(LINKTYPE_ETHERNET, f.data);
    if (!p || (ports.size > 0 && !ports.has(p.srcPort) && !ports.has(p.dstPort))) {
      skipped++;
      return [];
    }
    return flows.push(p, f.unixNano, o.interfaces.get(f.ifindex) ?? `if${f.ifindex}`, f.direction);
  };
  return {
    push(events) {
      const inputs: SessionInputEvent[] = [];
      for (const e of events) if (e.kind === 'frame') inputs.push(...toEvents(e));
      return inputs.length === 0 ? [] : o.table.push(inputs);
    },
    sweep(now) {
      // Idle flows are rare and the scan covers every flow: once a second is plenty.
      let closed: SessionInputEvent[] = [];
      if (now - lastExpire >= 1_000_000_000n) {
        lastExpire = now;
        closed = flows.expire(now, idle);
      }
      const out: SpanRecord[] = closed.length > 0 ? o.table.push(closed) : [];
      return [...out, ...o.table.sweep(now)];
    },
    flush() {
      return [...o.table.push(flows.end(0n)), ...o.table.flush()];
    },
    stats: () => o.table.stats(),
    netStats: () => ({ frames, skippedFrames: skipped, gapBytes: flows.stats().gapBytes }),
  };
}

/**
 * Drives the socket sessions and the NET sessions as one table: frames go to `net`, everything
 * else to `sockets`, split once per batch (the socket table sorts what it gets; frames would
 * only cost it).
 */
export function combineSessionTables(sockets: SessionTable, net: SessionTable): SessionTable {
  return {
    push(events) {
      const frames: SessionInputEvent[] = [];
      const rest: SessionInputEvent[] = [];
      for (const e of events) (e.kind === 'frame' ? frames : rest).push(e);
      return [...sockets.push(rest), ...(frames.length > 0 ? net.push(frames) : [])];
    },
    sweep: (now) => [...sockets.sweep(now), ...net.sweep(now)],
    flush: () => [...sockets.flush(), ...net.flush()],
    stats: () => sockets.stats(),
  };
}
