/**
 * @module What /proc says about a process before the agent touches it: its executable, its
 * arguments, whether SIGUSR1 is caught, its network namespace, and the TCP ports it listens on
 * (by socket inode, so a port is attributed to the process that owns it, not to whoever else
 * might listen on the same number).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

/** Linux signal number of SIGUSR1; bit (n-1) of /proc/PID/status's SigCgt mask. */
const SIGUSR1 = 10;
/** /proc/net/tcp state code of a listening socket. */
const TCP_LISTEN = '0A';

export interface ListeningPort {
  ip: string;
  port: number;
  inode: string;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The executable's path, or null when the process is gone or not ours to read. */
export function executableOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

/** `node`, `nodejs`, `node20`, `node-20.11`… (a deleted-on-upgrade binary reads "… (deleted)"). */
export function isNodeExecutable(path: string): boolean {
  return /^node(js)?[-.0-9]*$/.test(basename(path.replace(/ \(deleted\)$/, '')));
}

export function argvOf(pid: number): string[] {
  const raw = readText(`/proc/${pid}/cmdline`);
  if (!raw) return [];
  return raw.split('\0').filter((a) => a.length > 0);
}

/** One variable of the process's initial environment (what it was started with). */
export function environOf(pid: number, name: string): string | null {
  const raw = readText(`/proc/${pid}/environ`);
  if (!raw) return null;
  for (const entry of raw.split('\0')) if (entry.startsWith(`${name}=`)) return entry.slice(name.length + 1);
  return null;
}

function statusField(pid: number, field: string): string | null {
  const raw = readText(`/proc/${pid}/status`);
  if (!raw) return null;
  const line = raw.split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? line.slice(field.length + 1).trim() : null;
}

/**
 * True when SIGUSR1 has a handler: Node's inspector installs one about 10 ms after start, and
 * until then (or with --disable-sigusr1) the signal's default action would terminate the process.
 */
export function catchesSigusr1(pid: number): boolean {
  const caught = statusField(pid, 'SigCgt');
  const ignored = statusField(pid, 'SigIgn');
  if (caught === null || ignored === null) return false;
  const bit = 1n << BigInt(SIGUSR1 - 1);
  return (BigInt(`0x${caught}`) & bit) !== 0n && (BigInt(`0x${ignored}`) & bit) === 0n;
}

/** The pid as the process itself sees it (its innermost pid namespace). */
export function innermostPid(pid: number): number | null {
  const ns = statusField(pid, 'NSpid');
  if (ns === null) return null;
  const last = ns.split(/\s+/).at(-1);
  return last ? Number(last) : null;
}

export function sameNetNamespace(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net');
  } catch {
    return false;
  }
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // The fd closed while we listed: not a listener we need.
    }
  }
  return inodes;
}

/** /proc/net/tcp's address: the 32-bit words are in host (little-endian) byte order. */
function hexAddress(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(word.slice(b, b + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/** Every LISTEN socket in one /proc/.../net/tcp{,6} table, by inode. */
export function listeningSockets(table: string): ListeningPort[] {
  const out: ListeningPort[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addr, port] = (f[1] ?? '').split(':');
    if (!addr || !port) continue;
    out.push({ ip: hexAddress(addr), port: parseInt(port, 16), inode: f[9] ?? '' });
  }
  return out;
}

/** The TCP ports `pid` itself listens on (sockets among its own file descriptors). */
export function listeningPortsOf(pid: number): ListeningPort[] {
  const inodes = socketInodes(pid);
  if (inodes.size === 0) return [];
  const out: ListeningPort[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const text = readText(`/proc/${pid}/net/${table}`);
    if (text) for (const l of listeningSockets(text)) if (inodes.has(l.inode)) out.push(l);
  }
  return out;
}

/** Every listening TCP port of this network namespace (whoever owns it). */
export function listeningPortsHere(): ListeningPort[] {
  const out: ListeningPort[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const text = readText(`/proc/net/${table}`);
    if (text) out.push(...listeningSockets(text));
  }
  return out;
}

export interface InspectorFlag {
  host: string;
  /** null: the flag asked for a random port (0), which only the process knows. */
  port: number | null;
}

const DEFAULT_INSPECTOR_PORT = 9229;
const DEFAULT_INSPECTOR_HOST = '127.0.0.1';

/**
 * The inspector the process was started with (--inspect, --inspect-brk, --inspect-wait, with an
 * optional [host:]port, in argv before the script or in NODE_OPTIONS), or null.
 */
export function inspectorFlagOf(argv: readonly string[], nodeOptions: string | null): InspectorFlag | null {
  // Node's own options end at the script name; the script's arguments are not Node's.
  const own: string[] = [];
  for (const a of argv.slice(1)) {
    if (!a.startsWith('-')) break;
    own.push(a);
  }
  if (nodeOptions) own.push(...nodeOptions.split(/\s+/).filter((a) => a.length > 0));
  let found: InspectorFlag | null = null;
  let portFlag: string | null = null;
  for (const a of own) {
    const m = /^--inspect(?:-brk|-wait)?(?:=(.*))?$/.exec(a);
    if (m) found = parseHostPort(m[1] ?? null);
    const p = /^--(?:inspect-port|debug-port)=(.*)$/.exec(a);
    if (p?.[1] !== undefined) portFlag = p[1];
  }
  if (found && portFlag !== null) {
    const override = parseHostPort(portFlag);
    return { host: portFlag.includes(':') ? override.host : found.host, port: override.port };
  }
  return found;
}

function parseHostPort(value: string | null): InspectorFlag {
  if (value === null || value === '') return { host: DEFAULT_INSPECTOR_HOST, port: DEFAULT_INSPECTOR_PORT };
  const colon = value.lastIndexOf(':');
  const host = colon >= 0 ? value.slice(0, colon).replace(/^\[|\]$/g, '') : DEFAULT_INSPECTOR_HOST;
  const portText = colon >= 0 ? value.slice(colon + 1) : value;
  if (!/^\d+$/.test(portText)) return { host: value, port: DEFAULT_INSPECTOR_PORT };
  const port = Number(portText);
  return { host: host || DEFAULT_INSPECTOR_HOST, port: port === 0 ? null : port };
}
