/**
 * @module Which interfaces the agent captures on, kept current: whenever one changes (its
 * `ip monitor` reports it; namespace-monitor.ts) it reads each network namespace it watches
 * (its own, or ones it was told to enter) with `ip -json`, attaches
 * to interfaces that match the `--interfaces` patterns and appeared (container veths come and
 * go), and lets go of those that went away. Each namespace keeps what observation-point
 * inference needs: its node view (links, addresses, routes), the translations it applies and
 * the addresses seen behind its container links.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { InterfaceMatcher } from './interface-patterns.js';
import { createNatTracker, type NatTracker } from './nat-tracker.js';
import { rescanOnChange } from './namespace-monitor.js';
import { buildNodeView, type LinkInfo, type NodeView } from './node-view.js';

const run = promisify(execFile);

/** One network namespace the agent captures in. */
export interface WatchedNamespace {
  /** '' for the agent's own; else the name (`ip netns`) or path it was given. */
  label: string;
  view: NodeView;
  nat: NatTracker;
  /** Addresses seen sending from behind each container link (by interface name). */
  behind: Map<string, Set<string>>;
}

export interface CapturedLink {
  info: LinkInfo;
  /** The name spans carry: the interface name, prefixed `label/` outside the agent's namespace. */
  displayName: string;
  ns: WatchedNamespace;
}

/** The attach side of the eBPF source (captureLink / releaseInterface). */
export interface LinkCapture {
  captureLink(link: { name: string; ifindex: number; loopback: boolean; netnsPath?: string }): number;
  releaseInterface(ifindex: number, netnsIno: number): void;
}

export interface LinkWatcherLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LinkWatcherOptions {
  matcher: InterfaceMatcher;
  /** Namespaces to enter: names under /run/netns or paths (/proc/PID/ns/net); [] = the agent's own. */
  netns: readonly string[];
  capture: LinkCapture;
  logger: LinkWatcherLogger;
  /** How often a namespace is read again when its change monitor cannot run (default 1000 ms). */
  intervalMs?: number;
}

export interface LinkWatcher {
  /** The captured interface with this ifindex (frames carry only that). */
  byIfindex(ifindex: number): CapturedLink | undefined;
  /** Reads every namespace now and attaches/detaches; resolves when done. */
  rescan(): Promise<void>;
  captured(): CapturedLink[];
  close(): void;
}

/** Addresses remembered behind one container link (a pod has a few; a bound keeps a flood out). */
const MAX_BEHIND = 256;

interface NamespaceState extends WatchedNamespace {
  path: string | undefined;
  ipPrefix: string[];
  /** ifindex → its capture and the namespace inode the addon returned. */
  links: Map<number, { link: CapturedLink; nsIno: number }>;
}

function target(spec: string): { label: string; path: string | undefined; cmd: string; prefix: string[] } {
  if (spec === '') return { label: '', path: undefined, cmd: 'ip', prefix: [] };
  if (spec.includes('/')) return { label: spec, path: spec, cmd: 'nsenter', prefix: [`--net=${spec}`, 'ip'] };
  return { label: spec, path: `/run/netns/${spec}`, cmd: 'ip', prefix: ['-n', spec] };
}

export function createLinkWatcher(o: LinkWatcherOptions): LinkWatcher {
  const states: (NamespaceState & { cmd: string })[] = (o.netns.length > 0 ? o.netns : ['']).map((spec) => {
    const t = target(spec);
    return {
      label: t.label,
      path: t.path,
      cmd: t.cmd,
      ipPrefix: t.prefix,
      view: { links: [], localAddresses: new Set(), routes: [] },
      nat: createNatTracker(),
      behind: new Map(),
      links: new Map(),
    };
  });
  /** Frames carry the ifindex only, so one ifindex maps to one captured interface at a time. */
  const byIndex = new Map<number, CapturedLink>();
  const warned = new Set<string>();
  let closed = false;

  const ipJson = async (s: NamespaceState & { cmd: string }, args: string[]): Promise<unknown> => {
    const { stdout } = await run(s.cmd, [...s.ipPrefix, '-json', ...args], { maxBuffer: 64 << 20 });
    return stdout.trim() === '' ? [] : (JSON.parse(stdout) as unknown);
  };

  const release = (s: NamespaceState, ifindex: number, why: string): void => {
    const entry = s.links.get(ifindex);
    if (!entry) return;
    s.links.delete(ifindex);
    byIndex.delete(ifindex);
    s.behind.delete(entry.link.info.name);
    o.capture.releaseInterface(ifindex, entry.nsIno);
    o.logger.info({ component: 'agent.links', interface: entry.link.displayName, why }, 'stopped capturing on an interface');
  };

  const scan = async (s: NamespaceState & { cmd: string }): Promise<void> => {
    let view: NodeView;
    try {
      const [links, r4, r6] = await Promise.all([ipJson(s, ['-details', 'addr', 'show']), ipJson(s, ['-4', 'route', 'show', 'table', 'main']), ipJson(s, ['-6', 'route', 'show', 'table', 'main'])]);
      view = buildNodeView(links, r4, r6);
    } catch (err) {
      // The namespace went away (or cannot be read): nothing there is captured any more.
      if (!warned.has(`ns:${s.label}`)) o.logger.warn({ component: 'agent.links', netns: s.label || '(own)', err: (err as Error).message }, 'cannot read the network namespace');
      warned.add(`ns:${s.label}`);
      for (const ifindex of [...s.links.keys()]) release(s, ifindex, 'namespace gone');
      return;
    }
    warned.delete(`ns:${s.label}`);
    if (closed) return;
    s.view = view;
    const present = new Map(view.links.map((l) => [l.ifindex, l]));
    for (const [ifindex, entry] of [...s.links]) {
      const now = present.get(ifindex);
      // Gone, renamed out of the patterns, or the index now names another interface.
      if (!now || now.name !== entry.link.info.name || !o.matcher.matches(now.name)) release(s, ifindex, now ? 'no longer matches' : 'interface gone');
      else entry.link.info = now;
    }
    for (const info of view.links) {
      if (s.links.has(info.ifindex) || !o.matcher.matches(info.name)) continue;
      const displayName = s.label === '' ? info.name : `${s.label}/${info.name}`;
      const other = byIndex.get(info.ifindex);
      if (other) {
        const key = `dup:${displayName}`;
        if (!warned.has(key)) o.logger.warn({ component: 'agent.links', interface: displayName, sameIfindexAs: other.displayName }, 'not capturing: another captured interface has the same ifindex (frames carry only the ifindex); run one agent per namespace');
        warned.add(key);
        continue;
      }
      let nsIno: number;
      try {
        nsIno = o.capture.captureLink({ name: displayName, ifindex: info.ifindex, loopback: info.loopback, ...(s.path ? { netnsPath: s.path } : {}) });
      } catch (err) {
        // It may have gone between the read and the attach; the next scan tries again.
        o.logger.warn({ component: 'agent.links', interface: displayName, err: (err as Error).message }, 'cannot capture on an interface');
        continue;
      }
      const link: CapturedLink = { info, displayName, ns: s };
      s.links.set(info.ifindex, { link, nsIno });
      byIndex.set(info.ifindex, link);
      o.logger.info({ component: 'agent.links', interface: displayName, role: info.role, kind: info.kind || 'physical' }, 'capturing on an interface');
    }
  };

  const rescan = async (): Promise<void> => {
    await Promise.all(states.map(scan));
  };
  // Read again when a namespace changes (its `ip monitor` says so), not every second.
  const rescans = rescanOnChange({
    paths: states.map((s) => s.path ?? ''),
    read: async (indexes) => {
      await Promise.all(indexes.map((i) => scan(states[i]!)));
    },
    intervalMs: o.intervalMs ?? 1000,
  });

  return {
    byIfindex: (ifindex) => byIndex.get(ifindex),
    rescan,
    captured: () => [...byIndex.values()],
    close() {
      closed = true;
      rescans.close();
      // The eBPF source's close detaches every filter; nothing is released one by one here.
    },
  };
}

/** Remembers that `ip` sent from behind container link `name` (bounded per link). */
export function noteBehind(ns: WatchedNamespace, name: string, ip: string): void {
  let set = ns.behind.get(name);
  if (!set) ns.behind.set(name, (set = new Set()));
  if (set.has(ip)) return;
  if (set.size >= MAX_BEHIND) set.delete(set.values().next().value as string);
  set.add(ip);
}
