/**
 * NET spans in a full-stack trace: while the eBPF agent captures SYS spans of curl → nginx → an
 * uninstrumented Node service → Redis, MariaDB, PostgreSQL and DNS (real Debian servers on
 * 127.0.0.1), tcpdump captures the same traffic on lo. `importCapture` turns the capture into
 * NET spans (the client-side point, `c`), and the trace from the public API chains each message
 * c-p → c → s-p by tcp seq: the network hop sits between the two processes.
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCapture } from '../../src/agent/capture/pcap/import-capture.js';
import { ebpfUnavailable, fetchTrace, startTracedTopology, type TraceSpan, type TracedTopology } from './traced-topology.js';

const unavailable = ebpfUnavailable('NET span end-to-end test');

const TRACE_ID = '5ce0e9a56015fec5aadfa328ae398115';
const CALLER_SPAN = '1e6c9a4b5d3f2a10';

describe.skipIf(unavailable !== null)('NET spans from a capture, in the full-stack trace', () => {
  let traced: TracedTopology;
  let dir: string;
  let spans: TraceSpan[] = [];
  let imported = 0;

  beforeAll(async () => {
    traced = await startTracedTopology();
    const { weft, topo, ports } = traced;
    dir = mkdtempSync(join(tmpdir(), 'weft-net-'));
    const pcap = join(dir, 'lo.pcap');
    const filter = ports.map((p) => `port ${p}`).join(' or ');
    const tcpdump = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-s', '0', '-U', '-w', pcap, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
    // tcpdump says "listening on lo" once the capture runs.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
      tcpdump.stderr?.on('data', (b: Buffer) => b.toString().includes('listening on') && (clearTimeout(t), resolve()));
      tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited ${code}`)));
    });
    const url = `${topo.entryUrl}/order?item=net`;
    execFileSync('curl', ['-sf', '-o', '/dev/null', `${topo.entryUrl}/order?item=warmup`]);
    execFileSync('curl', ['-sf', '-o', '/dev/null', '-H', `traceparent: 00-${TRACE_ID}-${CALLER_SPAN}-01`, url]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if ((await fetchTrace(weft, TRACE_ID)).some((s) => s.processName === 'postgres') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise<void>((resolve) => {
      tcpdump.once('exit', () => resolve());
      tcpdump.kill('SIGINT');
    });
    const result = await importCapture(readFileSync(pcap), {
      observationPoint: 'c',
      hostId: 'lo-capture',
      interfaceName: 'lo',
      onSpans: (s) => weft.server.sink.submit(s),
    });
    imported = result.spans;
    const deadline2 = Date.now() + 15_000;
    for (;;) {
      spans = await fetchTrace(weft, TRACE_ID);
      if (spans.some((s) => s.source === 'net') || Date.now() > deadline2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 180_000);

  afterAll(async () => {
    await traced?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('imports NET spans for every hop of the request and puts each between its two processes', () => {
    expect(imported).toBeGreaterThan(0);
    const byId = new Map(spans.map((s) => [s.id, s]));
    const parentOf = (s: TraceSpan): TraceSpan | undefined => (s.parentId ? byId.get(s.parentId) : undefined);
    const net = spans.filter((s) => s.source === 'net');
    // curl → nginx, nginx → backend, and the backend's calls: Redis, MariaDB, PostgreSQL, DNS.
    expect(new Set(net.map((s) => s.protocol))).toEqual(new Set(['http', 'redis', 'mysql', 'postgresql', 'dns']));
    for (const s of net) {
      expect(s.observationPoint).toBe('c');
      const parent = parentOf(s);
      expect(parent?.observationPoint, `parent of the NET span ${s.protocol} ${s.requestResource}`).toBe('c-p');
      expect(s.linkReason).toBe('tcp_seq');
      expect(parent?.reqTcpSeq).toBe(s.reqTcpSeq);
    }
    // The nginx s-p now hangs under the NET span of curl's request, which hangs under curl's c-p.
    const curlCp = spans.find((s) => s.processName === 'curl' && s.observationPoint === 'c-p' && s.requestResource.includes('item=net'));
    const nginxSp = spans.find((s) => s.processName === 'nginx' && s.observationPoint === 's-p' && s.requestResource.includes('item=net'));
    const hop = nginxSp ? parentOf(nginxSp) : undefined;
    expect(hop?.source).toBe('net');
    expect(hop?.linkReason).toBe('tcp_seq');
    expect(hop && parentOf(hop)?.id).toBe(curlCp?.id);
    expect(nginxSp?.linkReason).toBe('tcp_seq');
  });

  it('keeps the trace a tree: one root, each span once', () => {
    const ids = new Set(spans.map((s) => s.id));
    expect(ids.size).toBe(spans.length);
    expect(spans.filter((s) => s.parentId === null)).toHaveLength(1);
    for (const s of spans) if (s.parentId !== null) expect(ids.has(s.parentId)).toBe(true);
  });
});
