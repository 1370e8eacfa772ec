/**
 * @module Both eBPF objects capture the same facts: the one that reads kernel structures with
 * direct loads (Linux 6.2+) and the CO-RE one kept for older kernels (forced here with
 * `coreReads`). curl talks to a Node HTTP server in a child process, over IPv4 and IPv6; each
 * variant must see curl's request and the server's read of it with the same tcp seq, the right
 * addresses and ports, and the payload.
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EbpfEvent, SyscallEvent } from '../../src/agent/ebpf/decode-events.js';
import { createEbpfSource } from '../../src/agent/ebpf/ebpf-source.js';
import { ebpfAvailability } from '../../src/agent/ebpf/native.js';

const availability = ebpfAvailability();
const unavailable = availability.ok ? null : availability.reason;
if (unavailable && process.env.CI === 'true') throw new Error(`eBPF variant test cannot run in CI: ${unavailable}`);

const SERVER = `
const http = require('http');
const s = http.createServer((req, res) => res.end('variant-ok'));
s.listen(0, process.argv[1], () => console.log(s.address().port));
`;

describe.skipIf(unavailable !== null)('eBPF programs: direct loads and CO-RE reads', () => {
  const servers: ChildProcess[] = [];
  const ports: Record<'v4' | 'v6', number> = { v4: 0, v6: 0 };

  beforeAll(async () => {
    for (const [family, host] of [
      ['v4', '127.0.0.1'],
      ['v6', '::1'],
    ] as const) {
      const child = spawn(process.execPath, ['-e', SERVER, host], { stdio: ['ignore', 'pipe', 'inherit'] });
      servers.push(child);
      ports[family] = await new Promise<number>((resolve, reject) => {
        child.stdout?.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
        child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
    }
  });
  afterAll(() => {
    for (const s of servers) s.kill('SIGKILL');
  });

  for (const coreReads of [false, true]) {
    it(`${coreReads ? 'CO-RE reads' : 'direct loads'}: curl's request and the server's read carry the same seq and tuple`, async () => {
      const source = createEbpfSource({ ports: [ports.v4, ports.v6], coreReads });
      const events: EbpfEvent[] = [];
      const draining = (async () => {
        for await (const batch of source) events.push(...batch);
      })();
      try {
        if (!coreReads && source.stats().coreReads) {
          // A kernel before 6.2 refused the direct-load object; the CO-RE one runs instead.
          console.warn('direct loads not supported by this kernel; the CO-RE variant was loaded');
        }
        if (coreReads) expect(source.stats().coreReads).toBe(true);
        for (const [family, host] of [
          ['v4', '127.0.0.1'],
          ['v6', '[::1]'],
        ] as const) {
          const path = `/variant-${family}-${coreReads ? 'core' : 'direct'}`;
          expect(execFileSync('curl', ['-sf', `http://${host}:${ports[family]}${path}`]).toString()).toBe('variant-ok');
          const ip = family === 'v4' ? '127.0.0.1' : '::1';
          const deadline = Date.now() + 10_000;
          const data = (): SyscallEvent[] => events.filter((e): e is SyscallEvent => e.kind === 'data' && Buffer.from(e.payload).includes(path));
          while (data().filter((e) => e.direction === 'egress' || e.direction === 'ingress').length < 2 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
          }
          const sent = data().find((e) => e.comm === 'curl' && e.direction === 'egress');
          const read = data().find((e) => e.comm !== 'curl' && e.direction === 'ingress');
          expect(sent, `curl's request over ${family}`).toBeDefined();
          expect(read, `the server's read over ${family}`).toBeDefined();
          expect(sent).toMatchObject({ transport: 'tcp', ipVersion: family === 'v4' ? 4 : 6, localIp: ip, remoteIp: ip, remotePort: ports[family], tcpSeqValid: true });
          expect(read).toMatchObject({ transport: 'tcp', ipVersion: family === 'v4' ? 4 : 6, localIp: ip, remoteIp: ip, localPort: ports[family], remotePort: sent?.localPort });
          expect(read?.tcpSeq).toBe(sent?.tcpSeq);
          expect(Buffer.from(sent?.payload ?? []).toString('latin1')).toMatch(new RegExp(`^GET ${path} HTTP/1.1\\r\\n`));
        }
      } finally {
        source.close();
        await draining;
      }
    }, 60_000);
  }
});
