/**
 * @module A socket whose close() the agent never saw must not lend its identity to the next socket
 * the kernel puts at the same address. A process that exits with its sockets open closes them
 * without a close() syscall, and the kernel reuses a freed socket's memory at once; the eBPF
 * programs key a socket's state by that address, so before the fix the next socket there took
 * the old one's id, and the agent told its messages with the old process and ports (the
 * correctness bench's "wrong" traces at 128 in flight on a loaded host).
 *
 * Here: 150 client processes (forked from one Python process) each connect to a Node server,
 * make one request and exit without closing; every data record must carry, for its socket id,
 * always the same ports, and every request's records the ports its client reported.
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EbpfEvent, SyscallEvent } from '../../src/agent/ebpf/decode-events.js';
import { createEbpfSource } from '../../src/agent/ebpf/ebpf-source.js';
import { ebpfAvailability } from '../../src/agent/ebpf/native.js';

const availability = ebpfAvailability();
const unavailable = availability.ok ? null : availability.reason;
if (unavailable && process.env.CI === 'true') throw new Error(`eBPF socket-reuse test cannot run in CI: ${unavailable}`);

const SERVER = `
const http = require('http');
const s = http.createServer((req, res) => res.end('reuse-ok'));
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

/** Forks `n` children; each connects, sends one request naming its own port, reads, and exits with the socket open. */
const CLIENTS = `
import os, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    pid = os.fork()
    if pid == 0:
        s = socket.create_connection(('127.0.0.1', port))
        me = s.getsockname()[1]
        s.sendall(f'GET /reuse-{i}-{me} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'.encode())
        s.recv(4096)
        os._exit(0)  # no close(): the kernel closes the socket as the process goes
    os.waitpid(pid, 0)
`;

const COUNT = 150;

describe.skipIf(unavailable !== null)('eBPF: socket state when a close was never seen', () => {
  let server: ChildProcess | null = null;
  let port = 0;

  beforeAll(async () => {
    server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((resolve, reject) => {
      server?.stdout?.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      server?.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
  });
  afterAll(() => {
    server?.kill('SIGKILL');
  });

  it('every socket id keeps one pair of ports, and each request is told with its own client port', async () => {
    const source = createEbpfSource({ ports: [port] });
    const events: EbpfEvent[] = [];
    const draining = (async () => {
      for await (const batch of source) events.push(...batch);
    })();
    try {
      await new Promise<void>((resolve, reject) => {
        const clients = spawn('python3', ['-c', CLIENTS, String(port), String(COUNT)], { stdio: ['ignore', 'inherit', 'inherit'] });
        clients.once('error', reject);
        clients.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`clients exited ${code}`))));
      });
      const requests = (): SyscallEvent[] => events.filter((e): e is SyscallEvent => e.kind === 'data' && e.direction === 'egress' && Buffer.from(e.payload).includes('GET /reuse-'));
      const deadline = Date.now() + 15_000;
      while (requests().length < COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(requests().length).toBe(COUNT);

      const portsById = new Map<bigint, Set<string>>();
      for (const e of events) {
        if (e.kind !== 'data') continue;
        const ends = `${e.localPort}>${e.remotePort}`;
        const seen = portsById.get(e.socketId) ?? new Set<string>();
        seen.add(ends);
        portsById.set(e.socketId, seen);
      }
      const shared = [...portsById].filter(([, ends]) => ends.size > 1).map(([id, ends]) => `${id}: ${[...ends].join(', ')}`);
      expect(shared, 'socket ids carried by more than one socket').toEqual([]);
      // Each client's request and the server's read of it: its own socket, its own port.
      for (const sent of requests()) {
        const clientPort = Number(/GET \/reuse-\d+-(\d+) /.exec(Buffer.from(sent.payload).toString('latin1'))?.[1]);
        expect(sent.localPort).toBe(clientPort);
        expect(sent.comm).toMatch(/python/);
      }
      // The connect records name fresh ids: no connect shares an id with an earlier socket's data.
      const connects = events.filter((e) => e.kind === 'connect');
      expect(connects.length).toBeGreaterThanOrEqual(COUNT);
    } finally {
      source.close();
      await draining;
    }
  }, 90_000);
});
