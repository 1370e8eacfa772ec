/**
 * @module The eBPF capture source: loads and attaches the programs, drains the ring buffer and
 * yields batches of decoded events, timestamps already in wall-clock ns.
 *
 * Polling is non-blocking (the JS thread never waits inside the addon); when the ring is empty
 * the loop waits `idleWaitMs` on a timer, and while records keep coming it drains back to back.
 */
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { TracingError } from '../../model/errors.js';
import { cleanupDeadAgents, DEFAULT_TC_STATE_DIR, emptyCleanupReport, openTcLedger, removeQdiscIfOursAndEmpty, type TcLedger } from '../capture/tc-leftovers.js';
import { startTcWatchdog, watchdogMarker } from '../capture/tc-watchdog.js';
import { decodeEvents, type EbpfEvent, type KtimeClock } from './decode-events.js';
import { ebpfAvailability, loadNativeAddon, type NativeFilter, type NativeStats } from './native.js';
import { allPids, createTlsAttacher, SYSTEM_LIBSSL, tlsBinariesOf } from './tls-binaries.js';

export interface EbpfSourceOptions {
  /** Payload prefix per syscall, bytes (default 1024, at most 4096). */
  payloadBytes?: number;
  /**
   * Payload per syscall or SSL call on a connection that carries HTTP/2 (the kernel recognises
   * the preface, or a frame header that starts a message), bytes (default and at most 16384):
   * one write carries many streams' frames, and a frame past the cap loses its stream.
   */
  http2PayloadBytes?: number;
  /** Ring buffer bytes, a power of two (default 8 MiB). */
  ringBytes?: number;
  /** Poll buffer bytes (default 4 MiB). */
  pollBufferBytes?: number;
  /** Extra pids never to trace; this process is always excluded. */
  denyPids?: number[];
  /** Only these pids (empty: all). */
  allowPids?: number[];
  /** Only sockets with one of these local or remote ports (empty: all). */
  ports?: number[];
  /** Wait between polls when the ring is empty (default 5 ms). */
  idleWaitMs?: number;
  /**
   * Read kernel structures with CO-RE helper calls, as on kernels before 6.2, even where the
   * faster direct loads work (default: only when the kernel refuses direct loads; env
   * WEFT_EBPF_CORE_READS=1 forces it too).
   */
  coreReads?: boolean;
  /**
   * Attach the system-call programs (default true). false: only tc programs are attached, on
   * the interfaces asked for; an agent that captures frames for a node whose processes another
   * agent traces.
   */
  syscalls?: boolean;
  /**
   * Hook OpenSSL's SSL_read/SSL_write (libssl, node) for TLS plaintext (default true): the
   * system's libssl and every TLS binary a process maps, at start, as processes start, and when
   * a running process maps a libssl (dlopen).
   */
  tls?: boolean;
  /**
   * Where the ledger of attached tc filters lives (see capture/tc-leftovers.ts); default
   * WEFT_TC_STATE_DIR or /run/weft/tc.
   */
  tcStateDir?: string;
}

export interface EbpfSource extends AsyncIterable<EbpfEvent[]> {
  stats(): NativeStats;
  /** Changes the in-kernel filter; this process stays denied whatever `denyPids` says. */
  setFilter(filter: NativeFilter): void;
  /**
   * Captures frames on a network interface of this namespace (tc clsact) as `frame` events.
   * A loopback interface is captured on egress only: each of its frames is sent and received
   * by this host, so both directions would see it twice. Throws TRC_EBPF_ATTACH naming it.
   */
  captureInterface(name: string): number;
  /**
   * The same for an interface already looked up (ifindex, loopback), possibly in another network
   * namespace (`netnsPath`: /run/netns/NAME or /proc/PID/ns/net). Returns the namespace's inode
   * (0 for this one), for `releaseInterface`. Throws TRC_EBPF_ATTACH.
   */
  captureLink(link: { name: string; ifindex: number; loopback: boolean; netnsPath?: string }): number;
  /** Stops capturing on an interface (one that went away, or stopped matching). */
  releaseInterface(ifindex: number, netnsIno: number): void;
  /** The binaries whose SSL functions are hooked for TLS plaintext. */
  tlsBinaries(): string[];
  /** Detaches the programs; a running iteration ends after its current batch. */
  close(): void;
  readonly clock: KtimeClock;
}

/** Throws TRC_EBPF_UNAVAILABLE (with the reason) when this host cannot run eBPF. */
export function createEbpfSource(opts: EbpfSourceOptions = {}): EbpfSource {
  const availability = ebpfAvailability();
  if (!availability.ok) throw new TracingError('TRC_EBPF_UNAVAILABLE', `eBPF agent unavailable: ${availability.reason}`);
  const loaded = loadNativeAddon();
  if (!loaded.ok) throw new TracingError('TRC_EBPF_UNAVAILABLE', loaded.reason);
  const addon = loaded.addon;
  const [real, mono] = addon.clocks();
  const clock: KtimeClock = { offsetNs: real - mono };
  let handle;
  try {
    handle = addon.open({
      payloadBytes: opts.payloadBytes ?? 1024,
      ...(opts.http2PayloadBytes !== undefined ? { http2PayloadBytes: opts.http2PayloadBytes } : {}),
      ringBytes: opts.ringBytes ?? 8 << 20,
      idSeed: Math.floor(Date.now() / 1000) & 0x1fffff,
      coreReads: opts.coreReads === true || process.env['WEFT_EBPF_CORE_READS'] === '1' ? 1 : 0,
    });
  } catch (err) {
    throw new TracingError('TRC_EBPF_LOAD', `loading the eBPF programs failed: ${(err as Error).message}`, { cause: err });
  }
  const self = [process.pid];
  const applyFilter = (f: NativeFilter): void => {
    addon.setFilter(handle, { ...f, denyPids: [...self, ...(f.denyPids ?? opts.denyPids ?? [])] });
  };
  applyFilter({ enabled: true, allowPids: opts.allowPids ?? [], ports: opts.ports ?? [] });
  try {
    // tc programs are not auto-attached by the skeleton: with no syscall programs, nothing runs
    // until an interface is captured.
    if (opts.syscalls !== false) addon.attach(handle);
  } catch (err) {
    addon.close(handle);
    throw new TracingError('TRC_EBPF_ATTACH', `attaching the eBPF programs failed: ${(err as Error).message}`, { cause: err });
  }
  // TLS plaintext: uprobes belong to files, so hooking each libssl/node binary once covers its
  // processes, including later ones; exec events and libssl mappings (below) bring in binaries
  // not seen yet.
  const tls = opts.tls !== false && opts.syscalls !== false ? createTlsAttacher((p) => addon.attachTls(handle, p), () => undefined) : null;
  if (tls) {
    for (const p of SYSTEM_LIBSSL) tls.attach(p);
    tls.attach(process.execPath);
    for (const pid of allPids()) for (const p of tlsBinariesOf(pid)) tls.attach(p);
  }
  const buffer = Buffer.allocUnsafe(opts.pollBufferBytes ?? 4 << 20);
  const idle = opts.idleWaitMs ?? 5;
  let closed = false;

  // tc filters outlive a killed process: a ledger and a watchdog remove them (capture/tc-leftovers.ts).
  const tcStateDir = opts.tcStateDir ?? process.env['WEFT_TC_STATE_DIR'] ?? DEFAULT_TC_STATE_DIR;
  let ledger: TcLedger | null = null;
  let watchdog: ReturnType<typeof startTcWatchdog> | null = null;
  const netnsPaths = new Map<number, string | null>();
  const ledgerFor = (): TcLedger => {
    if (ledger) return ledger;
    // What agents killed earlier left behind goes before this one attaches anything.
    cleanupDeadAgents(tcStateDir);
    ledger = openTcLedger(tcStateDir);
    watchdog = startTcWatchdog(tcStateDir);
    return ledger;
  };

  const captureLink = (link: { name: string; ifindex: number; loopback: boolean; netnsPath?: string }): number => {
    try {
      const l = ledgerFor();
      const netnsPath = link.netnsPath ?? null;
      l.beforeAttach({ ifname: link.name, ifindex: link.ifindex, netnsPath, directions: link.loopback ? ['egress'] : ['ingress', 'egress'] });
      const ino = addon.attachInterface(handle, link.ifindex, !link.loopback, true, link.netnsPath);
      l.afterAttach(link.name, netnsPath);
      netnsPaths.set(ino, netnsPath);
      return ino;
    } catch (err) {
      const where = link.netnsPath ? ` in ${link.netnsPath}` : '';
      throw new TracingError('TRC_EBPF_ATTACH', `capturing packets on ${link.name}${where} failed: ${(err as Error).message}`, { cause: err });
    }
  };

  return {
    clock,
    stats: () => addon.stats(handle),
    tlsBinaries: () => [...(tls?.hooked.values() ?? [])],
    setFilter: applyFilter,
    captureInterface(name) {
      let ifindex: number;
      let loopback = false;
      try {
        ifindex = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
        // IFF_LOOPBACK = 0x8 in the interface flags.
        loopback = (Number(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim()) & 0x8) !== 0;
      } catch (err) {
        throw new TracingError('TRC_EBPF_ATTACH', `no network interface ${JSON.stringify(name)} here (${(err as Error).message})`, { cause: err });
      }
      captureLink({ name, ifindex, loopback });
      return ifindex;
    },
    captureLink,
    releaseInterface(ifindex, netnsIno) {
      if (closed) return;
      addon.detachInterface(handle, ifindex, netnsIno);
      const report = emptyCleanupReport();
      for (const link of ledger?.forget(ifindex, netnsPaths.get(netnsIno) ?? null) ?? []) removeQdiscIfOursAndEmpty(link, report);
    },
    close() {
      if (closed) return;
      closed = true;
      tls?.close();
      addon.close(handle);
      // The addon detached the filters; the qdiscs Weft created go only if nothing else is on them.
      const report = emptyCleanupReport();
      for (const link of ledger?.links() ?? []) removeQdiscIfOursAndEmpty(link, report);
      ledger?.remove();
      watchdog?.kill('SIGKILL');
      rmSync(watchdogMarker(tcStateDir, process.pid), { force: true });
    },
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        const n = addon.poll(handle, buffer, 0);
        if (n === 0) {
          await delay(idle);
          continue;
        }
        const batch = decodeEvents(buffer, n, clock, tls ? (pid) => tls.onLibrary(pid) : undefined);
        if (tls) for (const ev of batch) if (ev.kind === 'exec') tls.onExec(ev.pid);
        if (batch.length > 0) yield batch;
      }
    },
  };
}
