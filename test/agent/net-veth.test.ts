/**
 * NET capture on a real NIC pair: a client in its own network namespace reaches a Node HTTP
 * server in the root namespace over a veth pair. The agent captures on the root end of the
 * pair, where the client's request arrives: that NIC is the server's, so its NET span is at `s`,
 * between curl's c-p (in the other namespace) and the server's s-p, by tcp seq. Traffic stays
 * on this machine: the veth's /30 is checked to route to it before anything is sent.
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { startTestWeft, type TestWeft } from '../e2e/weft-harness.js';
import { ebpfUnavailable, fetchTrace, type TraceSpan } from './traced-topology.js';

const unavailable = ebpfUnavailable('veth NET capture test');

const TRACE_ID = '9a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CALLER_SPAN = '3c5e7a9b1d2f4a6c';
const tag = randomBytes(3).toString('hex');
const NS = `weftc${tag}`;
const HOST_IF = `wv${tag}`;
const NS_IF = `wn${tag}`;
// A /30 from the benchmarking range (RFC 2544), unlikely to clash with the machine's routes.
const HOST_IP = '198.18.77.1';
const NS_IP = '198.18.77.2';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

describe.skipIf(unavailable !== null)('NET capture on a veth pair between namespaces', () => {
  let weft: TestWeft;
  let agent: RunningAgent;
  let server: ChildProcess;
  let spans: TraceSpan[] = [];

  beforeAll(async () => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    // Both directions must stay on the pair, never the default route.
    expect(ip('route', 'get', NS_IP)).toContain(`dev ${HOST_IF}`);
    expect(ip('netns', 'exec', NS, 'ip', 'route', 'get', HOST_IP)).toContain(`dev ${NS_IF}`);

    server = spawn(process.execPath, ['-e', `require('http').createServer((q, s) => s.end('veth-ok')).listen(0, '${HOST_IP}', function () { console.log(this.address().port); })`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout?.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    weft = await startTestWeft();
    agent = await startAgent({ sink: weft.server.sink, interfaces: [HOST_IF], logger: pino({ level: 'silent' }), ebpf: { ports: [port] } });
    const out = execFileSync('ip', ['netns', 'exec', NS, 'curl', '-sf', '-H', `traceparent: 00-${TRACE_ID}-${CALLER_SPAN}-01`, `http://${HOST_IP}:${port}/over-veth`], { encoding: 'utf8' });
    expect(out).toBe('veth-ok');
    const deadline = Date.now() + 20_000;
    for (;;) {
      spans = await fetchTrace(weft, TRACE_ID);
      if ((spans.some((s) => s.source === 'net') && spans.some((s) => s.observationPoint === 's-p')) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);

  afterAll(async () => {
    await agent?.close();
    server?.kill('SIGKILL');
    await weft?.close();
    try {
      ip('link', 'del', HOST_IF);
    } catch {
      // already gone with the namespace
    }
    ip('netns', 'del', NS);
  }, 60_000);

  it("puts the server NIC's span at s between curl's c-p and the server's s-p", () => {
    const byId = new Map(spans.map((s) => [s.id, s]));
    const curlCp = spans.find((s) => s.processName === 'curl' && s.observationPoint === 'c-p');
    const nic = spans.find((s) => s.source === 'net');
    const serverSp = spans.find((s) => s.observationPoint === 's-p');
    expect(curlCp, JSON.stringify(spans.map((s) => [s.processName, s.source, s.observationPoint]))).toBeDefined();
    expect(nic).toMatchObject({ observationPoint: 's', interfaceName: HOST_IF, requestResource: '/over-veth', linkReason: 'tcp_seq' });
    expect(nic?.reqTcpSeq).toBe(curlCp?.reqTcpSeq);
    expect(nic?.parentId).toBe(curlCp?.id);
    expect(serverSp?.parentId).toBe(nic?.id);
    expect(serverSp?.linkReason).toBe('tcp_seq');
    expect(byId.size).toBe(spans.length);
  });
});
