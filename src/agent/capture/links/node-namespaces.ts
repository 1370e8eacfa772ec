/**
 * @module Which network namespaces make up this agent's node: the namespaces it watches (its own,
 * or the ones it was told to enter) and the workload namespaces behind their container links (a
 * veth with no address whose peer lives in another namespace: a pod's). A process belongs to the
 * node when its network namespace is one of these; an agent that keeps only such processes'
 * system calls (`--sys-namespaces node`) traces its node and nothing else, even where several
 * "nodes" share one kernel (namespaces on one machine, as in the network-path test) and every
 * agent's syscall hooks see every process.
 *
 * The peer of a veth is named by the kernel as a netnsid, a number local to the namespace that
 * reads it. `lsns -t net -o NS,NETNSID,PID`, run inside that same namespace, prints each
 * namespace that has a process with the netnsid it has there, which turns the veth's number into
 * an inode; `ip netns list-id` does the same for named namespaces (/run/netns), which may have no
 * process yet.
 *
 * The namespaces' own addresses (not loopback) are kept too: a process that exited before the
 * agent read its batch (a curl that lives 10 ms) can no longer be looked up in /proc, and its
 * sockets' local address is then what tells whose it was. Cluster addresses are unique per node
 * (a pod's address is its own), which is what makes that answer exact there.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { namespacePath, rescanOnChange } from './namespace-monitor.js';
import { parseLinks, type LinkInfo } from './node-view.js';

const run = promisify(execFile);
/** How long a new pod's addresses are looked for every interval (then at the next change or safety read). */
const ADDRESS_WAIT_MS = 30_000;

export interface NodeNamespaces {
  /** True when the namespace with this inode is the node's. */
  has(inode: number): boolean;
  /** The node's namespace inodes now. */
  inodes(): ReadonlySet<number>;
  /** The inode of the node's namespace that has this (non-loopback) address, if one has. */
  namespaceOfAddress(ip: string): number | undefined;
  /** Reads the namespaces again (also done when one changes; see namespace-monitor.ts). */
  refresh(): Promise<void>;
  close(): void;
}

export interface NodeNamespacesLogger {
  warn(obj: object, msg?: string): void;
}

export interface NodeNamespacesOptions {
  /** Namespaces the agent watches: names under /run/netns or paths; [] = the agent's own. */
  netns: readonly string[];
  logger: NodeNamespacesLogger;
  /** How often the namespaces are read when their change monitor cannot run, and while a new pod has no address yet (default 1000 ms). */
  intervalMs?: number;
}

/** A namespace another one names by netnsid: its inode and a path to enter it by. */
export interface PeerNamespace {
  inode: number;
  /** /proc/PID/ns/net of a process in it, or its /run/netns file ('' when neither is known). */
  enterPath: string;
}

/** `lsns -J -o NS,NETNSID,PID` → netnsid (as the namespace lsns ran in numbers it) → the namespace. */
export function parseLsnsNetnsIds(json: unknown): Map<number, PeerNamespace> {
  const out = new Map<number, PeerNamespace>();
  const list = (json as { namespaces?: unknown } | null)?.namespaces;
  if (!Array.isArray(list)) return out;
  for (const raw of list as ({ ns?: unknown; netnsid?: unknown; pid?: unknown } | null)[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const ino = typeof raw.ns === 'number' ? raw.ns : Number(raw.ns);
    const id = typeof raw.netnsid === 'number' ? raw.netnsid : /^\d+$/.test(String(raw.netnsid)) ? Number(raw.netnsid) : NaN;
    const pid = typeof raw.pid === 'number' ? raw.pid : Number(raw.pid);
    if (Number.isSafeInteger(ino) && ino > 0 && Number.isInteger(id)) out.set(id, { inode: ino, enterPath: Number.isSafeInteger(pid) && pid > 0 ? `/proc/${pid}/ns/net` : '' });
  }
  return out;
}

/** `ip -json netns list-id` → netnsid → the named namespace's /run/netns file. */
export function parseNetnsListIds(json: unknown): Map<number, string> {
  const out = new Map<number, string>();
  if (!Array.isArray(json)) return out;
  for (const raw of json as ({ nsid?: unknown; name?: unknown } | null)[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    if (typeof raw.nsid === 'number' && typeof raw.name === 'string' && /^[^/\0]+$/.test(raw.name) && raw.name !== '.' && raw.name !== '..') out.set(raw.nsid, `/run/netns/${raw.name}`);
  }
  return out;
}

/** The workload namespaces behind a namespace's container links. */
export function podNamespaces(links: readonly LinkInfo[], byId: ReadonlyMap<number, PeerNamespace>): PeerNamespace[] {
  const out: PeerNamespace[] = [];
  for (const l of links) {
    if (l.role !== 'container' || l.peerNetnsId === undefined) continue;
    const ns = byId.get(l.peerNetnsId);
    if (ns !== undefined) out.push(ns);
  }
  return out;
}

/** A namespace's own addresses, loopback left out (every namespace has 127.0.0.1). */
export function ownAddresses(links: readonly LinkInfo[]): string[] {
  return links.filter((l) => !l.loopback).flatMap((l) => l.addresses);
}

/** How one watched namespace is read: its inode's path, and the command prefix that runs inside it. */
function target(spec: string): { path: string; enter: string[] } {
  if (spec === '') return { path: '/proc/self/ns/net', enter: [] };
  const path = spec.includes('/') ? spec : `/run/netns/${spec}`;
  return { path, enter: ['nsenter', `--net=${path}`] };
}

async function inside(enter: readonly string[], cmd: string, args: readonly string[]): Promise<unknown> {
  const [file, ...rest] = enter.length > 0 ? [...enter, cmd, ...args] : [cmd, ...args];
  const { stdout } = await run(file as string, rest, { maxBuffer: 64 << 20 });
  return stdout.trim() === '' ? [] : (JSON.parse(stdout) as unknown);
}

export function createNodeNamespaces(o: NodeNamespacesOptions): NodeNamespaces {
  const specs = o.netns.length > 0 ? o.netns : [''];
  let current = new Set<number>();
  let addresses = new Map<string, number>();
  /** A pod's addresses, read when it is first seen with one (by inode). */
  const podAddresses = new Map<number, string[]>();
  /** Pods seen without an address yet, by inode: when first seen. */
  const podsWithoutAddresses = new Map<number, number>();
  const warned = new Set<string>();
  let closed = false;

  const addressesOfPod = async (pod: PeerNamespace): Promise<string[]> => {
    const known = podAddresses.get(pod.inode);
    if (known) return known;
    if (pod.enterPath === '') return [];
    try {
      const got = ownAddresses(parseLinks(await inside(['nsenter', `--net=${pod.enterPath}`], 'ip', ['-json', 'addr', 'show'])));
      // A pod's address is set inside it, often after its veth appeared: asked again until it has one.
      if (got.length > 0) {
        podAddresses.set(pod.inode, got);
        podsWithoutAddresses.delete(pod.inode);
      } else if (!podsWithoutAddresses.has(pod.inode)) podsWithoutAddresses.set(pod.inode, Date.now());
      return got;
    } catch {
      // The process lsns named is gone: tried again at the next refresh.
      return [];
    }
  };

  const readOne = async (spec: string): Promise<{ inode: number; addresses: string[] }[]> => {
    const t = target(spec);
    try {
      const own = statSync(t.path).ino;
      const [linksJson, lsns, listIds] = await Promise.all([
        inside(t.enter, 'ip', ['-json', '-details', 'addr', 'show']),
        inside(t.enter, 'lsns', ['-t', 'net', '-J', '-o', 'NS,NETNSID,PID']),
        inside(t.enter, 'ip', ['-json', 'netns', 'list-id']),
      ]);
      warned.delete(spec);
      const links = parseLinks(linksJson);
      const byId = parseLsnsNetnsIds(lsns);
      for (const [id, file] of parseNetnsListIds(listIds)) {
        if (byId.has(id)) continue;
        try {
          byId.set(id, { inode: statSync(file).ino, enterPath: file });
        } catch {
          // Deleted between the listing and now.
        }
      }
      const pods = await Promise.all(podNamespaces(links, byId).map(async (p) => ({ inode: p.inode, addresses: await addressesOfPod(p) })));
      return [{ inode: own, addresses: ownAddresses(links) }, ...pods];
    } catch (err) {
      // Gone or unreadable: none of its processes are the node's until it can be read again.
      if (!warned.has(spec)) o.logger.warn({ component: 'agent.node-namespaces', netns: spec || '(own)', err: (err as Error).message }, 'cannot read the node\'s network namespace; its processes are not traced');
      warned.add(spec);
      return [];
    }
  };

  const refresh = async (): Promise<void> => {
    const all = (await Promise.all(specs.map(readOne))).flat();
    if (closed) return;
    current = new Set(all.map((n) => n.inode));
    addresses = new Map(all.flatMap((n) => n.addresses.map((a) => [a, n.inode] as const)));
    for (const ino of podAddresses.keys()) if (!current.has(ino)) podAddresses.delete(ino);
    for (const ino of podsWithoutAddresses.keys()) if (!current.has(ino)) podsWithoutAddresses.delete(ino);
  };
  // Read again when a watched namespace changes (a pod's veth comes or goes), not every second;
  // every interval while a new pod's addresses are not known yet (set inside the pod, which is
  // not watched).
  const rescans = rescanOnChange({
    paths: specs.map(namespacePath),
    read: refresh,
    intervalMs: o.intervalMs ?? 1000,
    pending: () => {
      const now = Date.now();
      for (const since of podsWithoutAddresses.values()) if (now - since < ADDRESS_WAIT_MS) return true;
      return false;
    },
  });

  return {
    has: (inode) => current.has(inode),
    inodes: () => current,
    namespaceOfAddress: (ip) => addresses.get(ip),
    refresh,
    close() {
      closed = true;
      rescans.close();
    },
  };
}
