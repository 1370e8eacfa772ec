/**
 * @module What the payload copy costs a traced syscall, side by side in one run (alternating, so
 * drift on a shared machine cancels out): a Python process writes messages of 64 B, 1 KiB and
 * 16 KiB over one loopback TCP connection and reads them back, timed per round trip (one write,
 * the reads it takes), untraced and traced. Two kinds of connection:
 * - plain: the kernel copies the 1 KiB prefix of each syscall;
 * - HTTP/2: the connection starts with the HTTP/2 preface, so each syscall is copied whole up to
 *   16 KiB (in 2 KiB chunks), as the agent does for gRPC and h2c.
 * The difference per round trip is what the enter and exit programs of about two syscalls cost,
 * the copy included. The writer has CPU 0, this process (draining the ring) CPU 1.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createEbpfSource } from '../src/agent/ebpf/ebpf-source.js';
import { freePort } from '../src/demo/services/process-control.js';
import { ebpfAvailability } from '../src/agent/ebpf/native.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** argv: port size rounds h2 -> prints ns per round trip. */
const PY_PINGPONG = `
import socket, sys, time
port, size, n, h2 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', port)); srv.listen(1)
a = socket.create_connection(('127.0.0.1', port)); b, _ = srv.accept()
for s in (a, b): s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if h2:
    a.sendall(b'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'); b.recv(24)
msg = b'x' * size; buf = bytearray(size)
def trip():
    a.sendall(msg); got = 0
    while got < size: got += b.recv_into(memoryview(buf)[got:])
for _ in range(2000): trip()
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

export interface SyscallCopyRow {
  connection: 'plain' | 'http2';
  bytes: number;
  untracedNs: number;
  tracedNs: number;
  /** Added per round trip (one write and its reads). */
  addedNs: number;
  /** Records the traced runs lost to a full ring (the drain could not keep up). */
  drops: number;
}

export async function runSyscallCopyBench(log: (line: string) => void = () => {}): Promise<SyscallCopyRow[]> {
  const availability = ebpfAvailability();
  if (!availability.ok) throw new Error(`syscall copy bench needs eBPF: ${availability.reason}`);
  const rounds = Number(process.env['WEFT_BENCH_COPY_ROUNDS'] ?? 5);
  const trips = Number(process.env['WEFT_BENCH_COPY_TRIPS'] ?? 20_000);
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const rows: SyscallCopyRow[] = [];
  try {
    for (const connection of ['plain', 'http2'] as const) {
      for (const bytes of [64, 1024, 16_384]) {
        const u: number[] = [];
        const t: number[] = [];
        let drops = 0;
        for (let r = 0; r < rounds; r++) {
          u.push(await pingpong(await freePort(), bytes, trips, connection === 'http2'));
          const port = await freePort();
          const source = createEbpfSource({ ports: [port], tls: false });
          const draining = (async () => {
            for await (const batch of source) void batch;
          })();
          try {
            t.push(await pingpong(port, bytes, trips, connection === 'http2'));
            drops += source.stats().drops;
          } finally {
            source.close();
            await draining;
          }
        }
        const row: SyscallCopyRow = { connection, bytes, untracedNs: median(u), tracedNs: median(t), addedNs: median(t) - median(u), drops };
        rows.push(row);
        log(`${connection} ${bytes} B: untraced ${row.untracedNs.toFixed(0)} ns, traced ${row.tracedNs.toFixed(0)} ns a round trip (+${row.addedNs.toFixed(0)} ns), ${drops} dropped`);
      }
    }
    return rows;
  } finally {
    execFileSync('taskset', ['-a', '-p', '-c', `0-${cpus().length - 1}`, String(process.pid)], { stdio: 'ignore' });
  }
}
