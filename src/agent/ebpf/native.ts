/**
 * @module The ONE module that loads Weft's native addon (build/Release/weft_native.node), and
 * the answer to "can this host run the eBPF agent, and if not, why".
 *
 * Loading is lazy and cached: importing this module never touches the kernel, so code paths that
 * only decode recorded events (tests, replay) run anywhere.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Opaque handle to one loaded set of eBPF programs. */
export type NativeHandle = { readonly __weftNativeHandle: unique symbol };

export interface NativeOpenConfig {
  /** Payload prefix captured per syscall (≤ 4096; default 1024). */
  payloadBytes?: number;
  /** Payload captured per syscall or SSL call on an HTTP/2 connection (≤ 16384, the default; at least payloadBytes). */
  http2PayloadBytes?: number;
  /** Ring buffer size, a power of two (default 8 MiB). */
  ringBytes?: number;
  /** Seeds the upper 21 bits of socket and syscall trace ids so separate runs do not collide. */
  idSeed?: number;
  /** 1: load the variant that reads kernel structures with CO-RE helper calls even where direct loads work. */
  coreReads?: number;
}

export interface NativeFilter {
  enabled?: boolean;
  /** Replaces the deny list (Weft's own pids always belong here). */
  denyPids?: number[];
  /** Replaces the allow list; an empty list means "every pid". */
  allowPids?: number[];
  /** Replaces the port list; an empty list means "every port". Matches local or remote port. */
  ports?: number[];
}

export interface NativeStats {
  /** Records written into the ring buffer. */
  events: number;
  /** Records lost because the ring buffer was full. */
  drops: number;
  /** Syscalls not traced because the per-thread enter stash was full. */
  stashFull: number;
  pendingRecord: boolean;
  /** The CO-RE variant is loaded: the kernel refused direct loads (before Linux 6.2), or it was asked for. */
  coreReads: boolean;
}

export interface NativeLayout {
  size: number;
  fields: Record<string, number>;
  maxPayload: number;
  maxDataPayload: number;
}

/** The addon's surface, exactly as src/agent/native/weft_native.c defines it. */
export interface NativeAddon {
  open(config: NativeOpenConfig): NativeHandle;
  attach(handle: NativeHandle): void;
  /** Copies whole records into `buffer` as [u32 length][record], 8-aligned; returns bytes used. */
  poll(handle: NativeHandle, buffer: Buffer, timeoutMs: number): number;
  stats(handle: NativeHandle): NativeStats;
  setFilter(handle: NativeHandle, filter: NativeFilter): void;
  /**
   * tc filters on one interface (NET capture), of this network namespace or of the one at
   * `netnsPath`; returns that namespace's inode (0 for this one). Detached by close.
   */
  attachInterface(handle: NativeHandle, ifindex: number, ingress: boolean, egress: boolean, netnsPath?: string): number;
  /**
   * Uprobes on SSL_write/SSL_read(_ex) of one binary, for every process mapping it now or later;
   * returns how many of the four functions it exports (0: none).
   */
  attachTls(handle: NativeHandle, binaryPath: string): number;
  /** Removes this handle's filters from one interface (`netnsIno` as attachInterface returned). */
  detachInterface(handle: NativeHandle, ifindex: number, netnsIno: number): void;
  close(handle: NativeHandle): void;
  /** [CLOCK_REALTIME ns, CLOCK_MONOTONIC ns], read back to back. */
  clocks(): [bigint, bigint];
  layout(): NativeLayout;
}

export type Availability = { ok: true } | { ok: false; reason: string };

const here = path.dirname(fileURLToPath(import.meta.url));
/** <root>/build/Release/weft_native.node, from src/agent/ebpf (or dist/src/agent/ebpf). */
export const ADDON_PATH = [path.resolve(here, '../../../build/Release/weft_native.node'), path.resolve(here, '../../../../build/Release/weft_native.node')].find((p) => existsSync(p)) ?? path.resolve(here, '../../../build/Release/weft_native.node');
export const BTF_PATH = '/sys/kernel/btf/vmlinux';

let cached: { addon: NativeAddon } | { error: string } | undefined;

/** Load the addon (once). Expected failures come back as a reason, not an exception. */
export function loadNativeAddon(): { ok: true; addon: NativeAddon } | { ok: false; reason: string } {
  if (cached === undefined) {
    if (!existsSync(ADDON_PATH)) {
      cached = { error: `the native addon is not built (${ADDON_PATH} missing; run node scripts/build-native.mjs and read why it skipped)` };
    } else {
      try {
        cached = { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
      } catch (err) {
        cached = { error: `the native addon failed to load: ${(err as Error).message}` };
      }
    }
  }
  return 'addon' in cached ? { ok: true, addon: cached.addon } : { ok: false, reason: cached.error };
}

/** Whether the eBPF agent can run here; the reason names the first thing missing. */
export function ebpfAvailability(): Availability {
  if (process.platform !== 'linux') return { ok: false, reason: 'eBPF needs Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'eBPF tracing needs root (CAP_BPF and CAP_PERFMON)' };
  if (!existsSync(BTF_PATH)) return { ok: false, reason: `${BTF_PATH} is missing: the kernel has no BTF` };
  const loaded = loadNativeAddon();
  if (!loaded.ok) return { ok: false, reason: loaded.reason };
  return { ok: true };
}
