/**
 * @module Packet captures of real gRPC traffic → NET spans through the product's capture-file
 * import (the path `weft import-pcap` takes): tcpdump on lo records @grpc/grpc-js calls made
 * by a client and a server in their own processes. 20 unary and 16 server-streaming calls at
 * once on one connection must each give exactly one span with its service, method and
 * grpc-status; a capture started between two waves of calls (mid-connection: the HPACK tables
 * already hold entries it never saw) must give only right values, marking what it cannot know.
 *
 * Needs root (tcpdump). Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCapture } from '../../../src/agent/capture/pcap/import-capture.js';
import type { SpanRecord } from '../../../src/model/index.js';
import { GRPC_CLIENT, GRPC_SERVER, spawnNode, traceIdOf, traceparentFor, type Spawned } from './programs.js';

const root = process.getuid?.() === 0;
if (!root && process.env.CI === 'true') throw new Error('the HTTP/2 capture test needs root for tcpdump in CI');

/** Starts tcpdump on lo for one port; stop() ends it and returns the capture. */
async function startTcpdump(file: string, port: number): Promise<{ stop(): Promise<Buffer> }> {
  const p = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-s', '0', '-w', file, `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
  });
  // "listening" comes before the filter sees every packet.
  await new Promise((r) => setTimeout(r, 300));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGINT');
      await done;
      return readFileSync(file);
    },
  };
}

async function netSpans(capture: Buffer): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  await importCapture(capture, { observationPoint: 'c', hostId: 'pcap-test', interfaceName: 'lo', onSpans: (s) => void spans.push(...s) });
  return spans;
}

describe.skipIf(!root)('gRPC packet captures → NET spans', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-h2pcap-'));
  let server: Spawned;
  let port = 0;
  const RUN = Math.floor(Math.random() * 0xffffff) + 1;

  beforeAll(async () => {
    server = spawnNode(GRPC_SERVER);
    port = Number(await server.firstLine);
  });
  afterAll(() => {
    server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('36 concurrent calls on one connection: one span each, with service, method and grpc-status', async () => {
    const dump = await startTcpdump(join(dir, 'concurrent.pcap'), port);
    const client = spawnNode(GRPC_CLIENT, [port, RUN, 20, 16, 1]);
    expect(await client.firstLine).toBe('done');
    await client.exited;
    const spans = await netSpans(await dump.stop());
    expect(spans).toHaveLength(37); // and the warm-up call
    for (const i of [...Array.from({ length: 20 }, (_, k) => k), ...Array.from({ length: 16 }, (_, k) => 100 + k)]) {
      const mine = spans.filter((s) => s.traceId === traceIdOf(traceparentFor(RUN, i)));
      expect(mine, `call ${i}`).toHaveLength(1);
      const fail = i < 100 && i % 5 === 4;
      expect(mine[0]).toMatchObject({
        source: 'net',
        observationPoint: 'c',
        protocol: 'grpc',
        requestType: 'POST',
        requestResource: i < 100 ? '/weft.e2e.Greeter/Say' : '/weft.e2e.Greeter/Count',
        responseCode: fail ? 5 : 0,
        responseStatus: fail ? 'client_error' : 'ok',
        serverPort: port,
        attributes: expect.objectContaining({ 'rpc.service': 'weft.e2e.Greeter', 'rpc.method': i < 100 ? 'Say' : 'Count' }),
      });
    }
    expect(new Set(spans.map((s) => s.requestId)).size).toBe(37);
    expect(new Set(spans.map((s) => s.reqTcpSeq)).size).toBe(37);
  }, 60_000);

  it('a capture that starts mid-connection gives only right values and marks the unknown', async () => {
    const client = spawnNode(GRPC_CLIENT, [port, RUN + 1, 8, 4, 2]);
    expect(await client.firstLine).toBe('wave1');
    const dump = await startTcpdump(join(dir, 'mid.pcap'), port);
    await client.exited;
    const spans = await netSpans(await dump.stop());
    expect(spans.length).toBeGreaterThan(0);
    const seen = new Set<number>();
    for (const s of spans) {
      expect(s.requestId! % 2, `${s.protocol} ${s.requestId} ${s.requestResource} ${s.responseStatus}`).toBe(1);
      expect(seen.has(s.requestId!)).toBe(false);
      seen.add(s.requestId!);
      // nghttp2 sends :path as a literal, so the path is known; the rest may refer to old entries.
      expect(['/weft.e2e.Greeter/Say', '/weft.e2e.Greeter/Count']).toContain(s.requestResource);
      if (s.traceId) expect(s.traceId.startsWith((RUN + 1).toString(16).padStart(8, '0'))).toBe(true);
      if (s.responseCode !== null) expect([0, 5]).toContain(s.responseCode);
      if (s.protocol !== 'grpc') expect(s.attributes['weft.hpack_unknown_fields']).toBeGreaterThan(0);
    }
    expect(spans.some((s) => typeof s.attributes['weft.hpack_unknown_fields'] === 'number')).toBe(true);
  }, 60_000);
});
