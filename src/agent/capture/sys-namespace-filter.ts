/**
 * @module Keeps the system-call events of the node's processes only (`--sys-namespaces node`): a
 * process is the node's when its network namespace is one of the node's (links/node-namespaces.ts).
 * Frames pass untouched: they come from the node's own interfaces.
 *
 * A process's namespace is read once from /proc/PID/ns/net and remembered until it execs or
 * exits (`ip netns exec` enters the namespace and then execs, so the exec event is where a
 * process arrives in a pod). A process already gone when first seen (it lived a few ms, less than
 * the agent's poll) is placed by its socket's local address when that address is one of the node's
 * namespaces' own (not loopback); otherwise it is left out: its spans are missing, never another
 * node's doubled.
 */
import { statSync } from 'node:fs';
import type { EbpfEvent } from '../ebpf/decode-events.js';
import type { NodeNamespaces } from './links/node-namespaces.js';

export interface SysNamespaceFilter {
  keep(batch: EbpfEvent[]): EbpfEvent[];
  stats(): { keptEvents: number; droppedEvents: number; placedByAddress: number; unplaced: number };
}

/** Remembered pids before the oldest are forgotten (a pid's entry goes at its exit anyway). */
const MAX_PIDS = 65_536;

/** The network namespace inode of a live process, or null when it is gone. */
function netnsOf(pid: number): number | null {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return null;
  }
}

export function createSysNamespaceFilter(node: NodeNamespaces, readNetns: (pid: number) => number | null = netnsOf): SysNamespaceFilter {
  const byPid = new Map<number, number | null>();
  let kept = 0;
  let dropped = 0;
  let unplaced = 0;
  let placedByAddress = 0;
  const remember = (pid: number, ino: number): void => {
    if (byPid.size >= MAX_PIDS) byPid.delete(byPid.keys().next().value as number);
    byPid.set(pid, ino);
  };
  const namespaceOf = (ev: Exclude<EbpfEvent, { kind: 'frame' }>): number | null => {
    const known = byPid.get(ev.pid);
    if (known !== undefined) return known;
    const ino = readNetns(ev.pid);
    if (ino !== null) {
      remember(ev.pid, ino);
      return ino;
    }
    // Gone: its socket's own address, where the event carries one, says whose namespace it was.
    const local = 'localIp' in ev ? ev.localIp : undefined;
    const byAddress = local ? node.namespaceOfAddress(local) : undefined;
    if (byAddress === undefined) {
      unplaced++;
      return null;
    }
    placedByAddress++;
    remember(ev.pid, byAddress);
    return byAddress;
  };
  return {
    keep(batch) {
      const out: EbpfEvent[] = [];
      for (const ev of batch) {
        if (ev.kind === 'frame') {
          out.push(ev);
          continue;
        }
        // After an exec the process may live elsewhere (setns then exec); read it again.
        if (ev.kind === 'exec') byPid.delete(ev.pid);
        const ino = namespaceOf(ev);
        if (ev.kind === 'exit') byPid.delete(ev.pid);
        if (ino !== null && node.has(ino)) {
          out.push(ev);
          kept++;
        } else dropped++;
      }
      return out;
    },
    stats: () => ({ keptEvents: kept, droppedEvents: dropped, placedByAddress, unplaced }),
  };
}
