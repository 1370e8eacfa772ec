/**
 * @module What the payload copy costs a traced syscall, side by side in one run (alternating, so
 * drift on a shared machine cancels out): a Python process writes messages of 64 B, 1 KiB and
 * 16 KiB over one loopback TCP connection and reads them back, timed per round trip (one write,
 * the reads it takes), untraced and traced. Two kinds of connection:
 * - plain: the kernel copies the 1 KiB prefix of each syscall;
 * - HTTP/2: the connection starts with the HTTP/2 preface and each message is HTTP/2 frames (a
 *   HEADERS frame of up to 64 B, then DATA frames of up to 16 KiB), so the kernel walks each
 *   syscall frame by frame through the whole message: headers and HEADERS kept, DATA payloads
 *   left out as gaps, as the agent does for gRPC and h2c.
 * The difference per round trip is what the enter and exit programs of about two syscalls cost,
 * the copy included. The writer has CPU 0, this process (draining the ring) CPU 1.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { decodeEvents } from '../src/agent/ebpf/decode-events.js';
import { createEbpfSource } from '../src/agent/ebpf/ebpf-source.js';
import { freePort } from '../src/demo/services/process-control.js';
import { ebpfAvailability, type NativeAddon } from '../src/agent/ebpf/native.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** argv: port size rounds h2 -> prints ns per round trip. */
const PY_PINGPONG = `
import socket, sys, time
port, size, n, h2 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', port)); srv.listen(1)
a = socket.create_connection(('127.0.0.1', port)); b, _ = srv.accept()
for s in (a, b): s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
msg = b'x' * size; buf = bytearray(size)
if h2:
    a.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'); b.recv(24)
    frame = lambda t, flags, n: n.to_bytes(3, 'big') + bytes([t, flags]) + (1).to_bytes(4, 'big') + b'x' * n
    msg = frame(1, 4, min(size, 64) - 9)
    while len(msg) < size:
        msg += frame(0, 0, min(size - len(msg) - 9, 16384))
    msg = msg[:size]
def trip():
    a.sendall(msg); got = 0
    while got < size: got += b.recv_into(memoryview(buf)[got:])
for _ in range(2000): trip()  # WARMUP_TRIPS
t = time.perf_counter_ns()
for _ in range(n): trip()
print((time.perf_counter_ns() - t) / n)
`;

function pingpong(port: number, size: number, n: number, h2: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '0', 'python3', '-c', PY_PINGPONG, String(port), String(size), String(n), h2 ? '1' : '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`pingpong exited ${code}`))));
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * BPF run time of this process's programs, from the kernel's own accounting (fdinfo run_time_ns,
 * counted while kernel.bpf_stats_enabled is 1): ns in all of them, and in the writer's syscall
 * programs (enter/exit of sendto) alone. Program time is what the copy costs, free of the
 * scheduling noise a loaded host puts on wall-clock round trips.
 */
interface BpfTime {
  all: number;
  write: number;
}

const progNames = new Map<number, string>();

function bpfTime(): BpfTime {
  const out: BpfTime = { all: 0, write: 0 };
  for (const fd of readdirSync('/proc/self/fd')) {
    let link = '';
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== 'anon_inode:bpf-prog') continue;
    let info = '';
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const id = Number(/prog_id:\s+(\d+)/.exec(info)?.[1] ?? 0);
    const ns = Number(/run_time_ns:\s+(\d+)/.exec(info)?.[1] ?? 0);
    if (!progNames.has(id)) {
      try {
        progNames.set(id, (JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(id), '-j']).toString()) as { name: string }).name);
      } catch {
        progNames.set(id, '');
      }
    }
    out.all += ns;
    if (/^(enter|exit)_sendto$/.test(progNames.get(id)!)) out.write += ns;
  }
  return out;
}

/** A traced run's wall time and program time per round trip, and its ring drops. */
interface TracedRun {
  ns: number;
  bpf: BpfTime;
  drops: number;
}

/** One traced ping-pong with this build's agent source. */
async function tracedRun(bytes: number, trips: number, h2: boolean): Promise<TracedRun> {
  const port = await freePort();
  const source = createEbpfSource({ ports: [port], tls: false });
  const draining = (async () => {
    for await (const batch of source) void batch;
  })();
  try {
    const before = bpfTime();
    const ns = await pingpong(port, bytes, trips, h2);
    const after = bpfTime();
    return { ns, bpf: perTrip(before, after, trips), drops: source.stats().drops };
  } finally {
    source.close();
    await draining;
  }
}

/**
 * The same with another build's addon (WEFT_BENCH_PREV_ADDON), driven through the addon API as
 * the source does (poll, decode every record, 5 ms idle wait), so both drains do the same work.
 */
async function tracedRunWith(addon: NativeAddon, bytes: number, trips: number, h2: boolean): Promise<TracedRun> {
  const port = await freePort();
  const handle = addon.open({ payloadBytes: 1024, ringBytes: 8 << 20, idSeed: 1, coreReads: 0 });
  addon.setFilter(handle, { enabled: true, allowPids: [], ports: [port], denyPids: [process.pid] });
  addon.attach(handle);
  const buffer = Buffer.allocUnsafe(4 << 20);
  const [real, mono] = addon.clocks();
  const clock = { offsetNs: real - mono };
  let stop = false;
  const draining = (async () => {
    while (!stop) {
      const n = addon.poll(handle, buffer, 0);
      if (n > 0) decodeEvents(buffer, n, clock);
      else await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    const before = bpfTime();
    const ns = await pingpong(port, bytes, trips, h2);
    const after = bpfTime();
    return { ns, bpf: perTrip(before, after, trips), drops: addon.stats(handle).drops };
  } finally {
    stop = true;
    await draining;
    addon.close(handle);
  }
}

/** The Python side also runs WARMUP_TRIPS untimed round trips, traced too. */
const WARMUP_TRIPS = 2000;
const perTrip = (a: BpfTime, b: BpfTime, trips: number): BpfTime => ({ all: (b.all - a.all) / (trips + WARMUP_TRIPS), write: (b.write - a.write) / (trips + WARMUP_TRIPS) });

export interface SyscallCopyRow {
  connection: 'plain' | 'http2';
  bytes: number;
  untracedNs: number;
  tracedNs: number;
  /** Added per round trip (one write and its reads). */
  addedNs: number;
  /** Records the traced runs lost to a full ring (the drain could not keep up). */
  drops: number;
  /** BPF program time per round trip (all programs; the writer's sendto programs), 0 when stats are off. */
  bpfNs: number;
  bpfWriteNs: number;
  /** The same for the previous build's programs (WEFT_BENCH_PREV_ADDON), when given. */
  prev?: { tracedNs: number; bpfNs: number; bpfWriteNs: number; drops: number };
}

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/**
 * env: WEFT_BENCH_COPY_ROUNDS, WEFT_BENCH_COPY_TRIPS; WEFT_BENCH_PREV_ADDON=<another build's
 * build/Release/weft_native.node> adds its programs side by side (e.g. a previous commit's
 * src/agent/bpf + src/agent/native + scripts/build-native.mjs, from `git archive`, built in a temp
 * dir); WEFT_BENCH_BPF_STATS=0 leaves kernel.bpf_stats_enabled alone (otherwise it is on for the
 * run and restored after: a global switch, every loaded program pays a few ns while it is on).
 */
export async function runSyscallCopyBench(log: (line: string) => void = () => {}): Promise<SyscallCopyRow[]> {
  const availability = ebpfAvailability();
  if (!availability.ok) throw new Error(`syscall copy bench needs eBPF: ${availability.reason}`);
  const rounds = Number(process.env['WEFT_BENCH_COPY_ROUNDS'] ?? 5);
  const trips = Number(process.env['WEFT_BENCH_COPY_TRIPS'] ?? 20_000);
  const prevPath = process.env['WEFT_BENCH_PREV_ADDON'];
  const prev = prevPath ? (createRequire(import.meta.url)(prevPath) as NativeAddon) : null;
  const statsBefore = readFileSync(STATS_SYSCTL, 'utf8').trim();
  const stats = process.env['WEFT_BENCH_BPF_STATS'] !== '0';
  // A global switch: put it back even when the run is interrupted.
  const restore = (): void => {
    if (stats) writeFileSync(STATS_SYSCTL, statsBefore);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    restore();
    process.kill(process.pid, sig);
  };
  if (stats) {
    writeFileSync(STATS_SYSCTL, '1');
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  }
  log(`load average ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const rows: SyscallCopyRow[] = [];
  try {
    for (const connection of ['plain', 'http2'] as const) {
      for (const bytes of [64, 1024, 16_384, 65_536]) {
        const h2 = connection === 'http2';
        const u: number[] = [];
        const t: TracedRun[] = [];
        const p: TracedRun[] = [];
        for (let r = 0; r < rounds; r++) {
          u.push(await pingpong(await freePort(), bytes, trips, h2));
          // Alternate which build goes first, so drift within a round hits both.
          if (prev && r % 2 === 1) p.push(await tracedRunWith(prev, bytes, trips, h2));
          t.push(await tracedRun(bytes, trips, h2));
          if (prev && r % 2 === 0) p.push(await tracedRunWith(prev, bytes, trips, h2));
        }
        const sum = (xs: TracedRun[]): number => xs.reduce((a, x) => a + x.drops, 0);
        const row: SyscallCopyRow = {
          connection,
          bytes,
          untracedNs: median(u),
          tracedNs: median(t.map((x) => x.ns)),
          addedNs: median(t.map((x) => x.ns)) - median(u),
          drops: sum(t),
          bpfNs: median(t.map((x) => x.bpf.all)),
          bpfWriteNs: median(t.map((x) => x.bpf.write)),
        };
        if (prev) row.prev = { tracedNs: median(p.map((x) => x.ns)), bpfNs: median(p.map((x) => x.bpf.all)), bpfWriteNs: median(p.map((x) => x.bpf.write)), drops: sum(p) };
        rows.push(row);
        const bpf = (all: number, write: number): string => (stats ? `, programs ${all.toFixed(0)} ns (sendto ${write.toFixed(0)} ns)` : '');
        let line = `${connection} ${bytes} B: untraced ${row.untracedNs.toFixed(0)} ns, traced ${row.tracedNs.toFixed(0)} ns a round trip (+${row.addedNs.toFixed(0)} ns)${bpf(row.bpfNs, row.bpfWriteNs)}, ${row.drops} dropped`;
        if (row.prev) line += `; previous build: traced ${row.prev.tracedNs.toFixed(0)} ns (+${(row.prev.tracedNs - row.untracedNs).toFixed(0)} ns)${bpf(row.prev.bpfNs, row.prev.bpfWriteNs)}, ${row.prev.drops} dropped`;
        log(line);
      }
    }
    log(`load average ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
    return rows;
  } finally {
    restore();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    execFileSync('taskset', ['-a', '-p', '-c', `0-${cpus().length - 1}`, String(process.pid)], { stdio: 'ignore' });
  }
}
