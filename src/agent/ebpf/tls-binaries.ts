/**
 * @module Which binaries to hook for TLS plaintext, and when: every file a process maps whose
 * name is an OpenSSL libssl (libssl.so.3, …), and executables that carry OpenSSL themselves
 * (node). A uprobe belongs to the file, so one attach covers every process that maps it, now
 * and later; what is left is to notice files not hooked yet: at start (every process's maps,
 * and the system's libssl even if nothing maps it yet), when a process starts (node: its
 * executable; its maps a moment after exec), and whenever a process maps a file named
 * libssl.so* for execution (the kernel reports it: the loader at start, or dlopen at any time
 * later, as Python's `import ssl` does).
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/** OpenSSL's libssl (not libssl3 of another TLS stack: those do not export SSL_read). */
const LIBSSL = /\/libssl\.so(\.\d+)*$/;
/** Executables known to link OpenSSL statically and export its API. */
const OPENSSL_EXECUTABLES = new Set(['node', 'nodejs']);
/** Where Debian and other distributions keep the system libssl. */
export const SYSTEM_LIBSSL = ['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/aarch64-linux-gnu/libssl.so.3', '/usr/lib64/libssl.so.3', '/lib/x86_64-linux-gnu/libssl.so.3'];
/**
 * When to look at a new process's maps after exec: the executable (node) and what the loader maps
 * first. Libraries mapped later are reported by the kernel as they are mapped (onLibrary).
 */
export const EXEC_SCAN_DELAYS_MS = [150, 1000];
/**
 * When to look after the kernel saw a libssl mapped: it reports the mmap on entry, so the first
 * look may come before the mapping is in /proc/PID/maps; the second one finds it.
 */
export const LIBRARY_SCAN_DELAYS_MS = [0, 50, 500];

/** Paths (as this process can open them) of a process's TLS binaries. */
export function tlsBinariesOf(pid: number): string[] {
  const root = `/proc/${pid}/root`;
  const out = new Set<string>();
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    const base = exe.slice(exe.lastIndexOf('/') + 1);
    if (OPENSSL_EXECUTABLES.has(base)) out.add(root + exe);
  } catch {
    // gone, or a kernel thread
  }
  let maps = '';
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [...out];
  }
  for (const line of maps.split('\n')) {
    const slash = line.indexOf('/');
    if (slash < 0) continue;
    const file = line.slice(slash);
    if (LIBSSL.test(file)) out.add(root + file);
  }
  return [...out];
}

export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

export interface TlsAttacher {
  /** Hooks `path` unless a file with the same identity is hooked; returns the functions hooked (0: none, or already). */
  attach(path: string): number;
  /** A process started: hook its TLS binaries once they are mapped. */
  onExec(pid: number): void;
  /** A process mapped a libssl for execution: hook it if it is a file not hooked yet. */
  onLibrary(pid: number): void;
  /** Files hooked so far. */
  readonly hooked: ReadonlyMap<string, string>;
  close(): void;
}

/**
 * `attachFile` hooks one binary (the addon's attachTls) and returns how many SSL functions it
 * found. Files are told apart by device and inode, so a library seen through several processes'
 * roots, or under two names, is hooked once.
 */
export function createTlsAttacher(attachFile: (path: string) => number, onError: (path: string, err: Error) => void): TlsAttacher {
  const hooked = new Map<string, string>();
  const tried = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const attach = (path: string): number => {
    let id: string;
    try {
      const st = statSync(path);
      id = `${st.dev}:${st.ino}`;
    } catch {
      return 0;
    }
    if (tried.has(id)) return 0;
    tried.add(id);
    try {
      const n = attachFile(path);
      if (n > 0) hooked.set(id, path);
      return n;
    } catch (err) {
      onError(path, err as Error);
      return 0;
    }
  };
  const scanLater = (pid: number, delays: readonly number[]): void => {
    for (const delay of delays) {
      const t = setTimeout(() => {
        timers.delete(t);
        for (const p of tlsBinariesOf(pid)) attach(p);
      }, delay);
      t.unref();
      timers.add(t);
    }
  };
  return {
    attach,
    hooked,
    onExec: (pid) => scanLater(pid, EXEC_SCAN_DELAYS_MS),
    onLibrary: (pid) => scanLater(pid, LIBRARY_SCAN_DELAYS_MS),
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
