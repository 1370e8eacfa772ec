/**
 * @module Nothing of Weft's stays on an interface after its agent is gone.
 *
 * tc filters are not tied to the process that attached them: after `kill -9` the program keeps
 * running, writing into a ring nobody reads, and the clsact qdisc stays. Kernels with tcx (6.6+)
 * could attach through a link that dies with the process; this one (6.1) cannot, so the agent
 * keeps a ledger instead:
 * - before and after each attach it writes, in a state directory, what it attached: interface,
 *   namespace, direction, the program ids now in Weft's filter slot, whether it created the
 *   clsact qdisc (there was none before);
 * - a watchdog process (tc-watchdog.ts) waits for the agent's pid to end and then removes what
 *   the ledger lists, so a killed agent's programs are gone within about a second;
 * - every agent start does the same for the ledgers of agents that are no longer running (the
 *   watchdog may have been killed too, or the host rebooted into the same /run).
 *
 * Removal is exact: a filter in Weft's slot (priority 0xf7, handle 0x5746) is deleted only when
 * it still runs a program id the dead agent recorded, because a newer agent may already have
 * replaced it; the qdisc is deleted only when the dead agent created it and no filter of anyone
 * is left on it. A clean stop detaches the filters in the addon, removes the qdiscs it created
 * by the same rule, and deletes the ledger.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Weft's filter slot, as src/agent/native/weft_native.c attaches it. */
export const WEFT_TC_PRIORITY = 0xf7;
export const WEFT_TC_HANDLE = '0x5746';
/** /run is a tmpfs: ledgers vanish at reboot, exactly when tc state does. */
export const DEFAULT_TC_STATE_DIR = '/run/weft/tc';

export type TcDirection = 'ingress' | 'egress';

export interface TcLedgerLink {
  ifname: string;
  ifindex: number;
  /** The namespace the interface is in (/run/netns/NAME, /proc/PID/ns/net); null for the agent's own. */
  netnsPath: string | null;
  directions: TcDirection[];
  /** Program ids in Weft's slot after the attach, per direction. */
  progIds: number[];
  /** No clsact qdisc was there before: Weft created it. */
  qdiscCreated: boolean;
}

export interface TcLedgerFile {
  pid: number;
  /** /proc/PID/stat start time: tells a reused pid from the agent's. */
  startTime: string;
  links: TcLedgerLink[];
}

export interface TcCleanupReport {
  ledgers: number;
  filtersRemoved: number;
  qdiscsRemoved: number;
  problems: string[];
}

function tc(netnsPath: string | null, args: string[]): string {
  const [cmd, argv] = netnsPath ? ['nsenter', [`--net=${netnsPath}`, 'tc', ...args]] : ['tc', args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
}

interface TcFilterJson {
  pref?: number;
  kind?: string;
  options?: { handle?: string; prog?: { id?: number } };
}

/** Program ids of the filters in Weft's slot on one interface and direction. */
export function weftFilterProgIds(ifname: string, direction: TcDirection, netnsPath: string | null = null): number[] {
  let filters: TcFilterJson[];
  try {
    filters = JSON.parse(tc(netnsPath, ['-j', 'filter', 'show', 'dev', ifname, direction]) || '[]') as TcFilterJson[];
  } catch {
    return []; // no such interface or no clsact qdisc: nothing there
  }
  return filters.filter((f) => f.pref === WEFT_TC_PRIORITY && f.options?.handle === WEFT_TC_HANDLE && typeof f.options.prog?.id === 'number').map((f) => f.options?.prog?.id as number);
}

/** Whether the interface has a clsact qdisc. */
export function hasClsact(ifname: string, netnsPath: string | null = null): boolean {
  try {
    const qdiscs = JSON.parse(tc(netnsPath, ['-j', 'qdisc', 'show', 'dev', ifname]) || '[]') as { kind?: string }[];
    return qdiscs.some((q) => q.kind === 'clsact');
  } catch {
    return false;
  }
}

function filterCount(ifname: string, direction: TcDirection, netnsPath: string | null): number {
  try {
    return (JSON.parse(tc(netnsPath, ['-j', 'filter', 'show', 'dev', ifname, direction]) || '[]') as TcFilterJson[]).filter((f) => f.options !== undefined).length;
  } catch {
    return 0;
  }
}

/** The start time of a process (field 22 of /proc/PID/stat), or null when it is not running. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function ledgerPath(dir: string, pid: number): string {
  return join(dir, `agent-${pid}.json`);
}

/** The ledger of one running agent: written before and after every attach, deleted at a clean stop. */
export interface TcLedger {
  readonly path: string;
  /** Call before attaching: notes whether the qdisc was there (so a crash mid-attach is still cleaned). */
  beforeAttach(link: Omit<TcLedgerLink, 'progIds' | 'qdiscCreated'>): void;
  /** Call after a successful attach: records the program ids now in Weft's slot. */
  afterAttach(ifname: string, netnsPath: string | null): void;
  /** The agent detached this interface itself; returns what the ledger knew of it. */
  forget(ifindex: number, netnsPath: string | null): TcLedgerLink[];
  /** What is attached now. */
  links(): readonly TcLedgerLink[];
  /** A clean stop: the addon detached everything; the ledger goes. */
  remove(): void;
}

export function openTcLedger(dir: string = DEFAULT_TC_STATE_DIR, pid: number = process.pid): TcLedger {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = ledgerPath(dir, pid);
  const file: TcLedgerFile = { pid, startTime: processStartTime(pid) ?? '', links: [] };
  const save = (): void => {
    // Written whole and renamed: a watchdog never reads half a ledger.
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(file), { mode: 0o600 });
    renameSync(tmp, path);
  };
  const find = (ifname: string, netnsPath: string | null): TcLedgerLink | undefined => file.links.find((l) => l.ifname === ifname && l.netnsPath === netnsPath);
  return {
    path,
    beforeAttach(link) {
      const existing = find(link.ifname, link.netnsPath);
      if (existing) return;
      file.links.push({ ...link, progIds: [], qdiscCreated: !hasClsact(link.ifname, link.netnsPath) });
      save();
    },
    afterAttach(ifname, netnsPath) {
      const link = find(ifname, netnsPath);
      if (!link) return;
      link.progIds = link.directions.flatMap((d) => weftFilterProgIds(ifname, d, netnsPath));
      save();
    },
    forget(ifindex, netnsPath) {
      const gone = file.links.filter((l) => l.ifindex === ifindex && l.netnsPath === netnsPath);
      file.links = file.links.filter((l) => !gone.includes(l));
      save();
      return gone;
    },
    links: () => file.links,
    remove() {
      rmSync(path, { force: true });
    },
  };
}

/**
 * Removes one dead agent's filters and (when it created it and it is now empty) its qdisc.
 * Only programs the ledger names are removed: a newer agent's filter in the same slot stays.
 */
export function removeLedgerLinks(ledger: TcLedgerFile, report: TcCleanupReport, claimed: ReadonlySet<number> = new Set()): void {
  for (const link of ledger.links) {
    if (link.netnsPath !== null && !existsSync(link.netnsPath)) continue; // the namespace, and its filters, are gone
    const ours = new Set(link.progIds);
    for (const direction of link.directions) {
      const ids = weftFilterProgIds(link.ifname, direction, link.netnsPath);
      // A ledger written before the attach finished has no ids: the slot is taken unless a
      // running agent's ledger claims the program in it.
      const mine = ours.size > 0 ? ids.some((id) => ours.has(id)) : ids.length > 0 && !ids.some((id) => claimed.has(id));
      if (!mine) continue;
      try {
        tc(link.netnsPath, ['filter', 'del', 'dev', link.ifname, direction, 'pref', String(WEFT_TC_PRIORITY), 'handle', WEFT_TC_HANDLE, 'bpf']);
        report.filtersRemoved++;
      } catch (err) {
        report.problems.push(`removing the ${direction} filter on ${link.ifname}: ${(err as Error).message.split('\n')[0] ?? ''}`);
      }
    }
    removeQdiscIfOursAndEmpty(link, report);
  }
}

/**
 * Removes the clsact qdisc of a link when Weft created it and no filter (of anyone) is left on
 * it: a qdisc another tool shares stays, and so does one that had been there before Weft.
 */
export function removeQdiscIfOursAndEmpty(link: TcLedgerLink, report: TcCleanupReport): void {
  if (link.netnsPath !== null && !existsSync(link.netnsPath)) return;
  if (!link.qdiscCreated || !hasClsact(link.ifname, link.netnsPath)) return;
  if (filterCount(link.ifname, 'ingress', link.netnsPath) > 0 || filterCount(link.ifname, 'egress', link.netnsPath) > 0) return;
  try {
    tc(link.netnsPath, ['qdisc', 'del', 'dev', link.ifname, 'clsact']);
    report.qdiscsRemoved++;
  } catch (err) {
    report.problems.push(`removing the clsact qdisc on ${link.ifname}: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
}

export function emptyCleanupReport(): TcCleanupReport {
  return { ledgers: 0, filtersRemoved: 0, qdiscsRemoved: 0, problems: [] };
}

/** Whether the agent that wrote a ledger is still the process with that pid. */
export function ledgerOwnerAlive(ledger: TcLedgerFile): boolean {
  const start = processStartTime(ledger.pid);
  return start !== null && (ledger.startTime === '' || start === ledger.startTime);
}

function readLedger(path: string): TcLedgerFile | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as TcLedgerFile;
    return typeof v.pid === 'number' && Array.isArray(v.links) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Cleans up after every agent whose ledger is in `dir` and that is no longer running (or only
 * the one with `onlyPid`). Never touches a running agent's filters.
 */
export function cleanupDeadAgents(dir: string = DEFAULT_TC_STATE_DIR, onlyPid?: number): TcCleanupReport {
  const report = emptyCleanupReport();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return report;
  }
  const dead: [string, TcLedgerFile][] = [];
  const claimed = new Set<number>();
  for (const name of names) {
    const m = /^agent-(\d+)\.json$/.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const ledger = readLedger(path);
    if (ledger === null) continue;
    if (ledgerOwnerAlive(ledger)) {
      for (const l of ledger.links) for (const id of l.progIds) claimed.add(id);
    } else if (onlyPid === undefined || ledger.pid === onlyPid) dead.push([path, ledger]);
  }
  for (const [path, ledger] of dead) {
    report.ledgers++;
    removeLedgerLinks(ledger, report, claimed);
    rmSync(path, { force: true });
  }
  return report;
}
