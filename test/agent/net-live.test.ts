/**
 * Live NET capture: the agent, given `interfaces: ['lo']`, captures frames with tc next to the
 * syscalls, while curl → nginx → an uninstrumented Node service → Redis, MariaDB, PostgreSQL and
 * DNS (real Debian servers on 127.0.0.1) serve a traced request. Every hop's NET span (origin
 * `packet`) sits between the client's c-p and the server's s-p by tcp seq, in the trace from
 * the public API.
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ebpfUnavailable, fetchTrace, startTracedTopology, type TraceSpan, type TracedTopology } from './traced-topology.js';

const unavailable = ebpfUnavailable('live NET capture test');

const TRACE_ID = '7d3f0c1b9a8e4d2c6b5a49382716f0e1';
const CALLER_SPAN = '2b4d6f8091a3c5e7';

describe.skipIf(unavailable !== null)('live NET capture on lo, in the full-stack trace', () => {
  let traced: TracedTopology;
  let spans: TraceSpan[] = [];

  beforeAll(async () => {
    traced = await startTracedTopology(['lo']);
    const { weft, topo } = traced;
    execFileSync('curl', ['-sf', '-o', '/dev/null', `${topo.entryUrl}/order?item=warmup`]);
    execFileSync('curl', ['-sf', '-o', '/dev/null', '-H', `traceparent: 00-${TRACE_ID}-${CALLER_SPAN}-01`, `${topo.entryUrl}/order?item=live`]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      spans = await fetchTrace(weft, TRACE_ID);
      const net = new Set(spans.filter((s) => s.source === 'net').map((s) => s.protocol));
      if ((net.size >= 5 && spans.some((s) => s.processName === 'postgres')) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 180_000);

  afterAll(async () => traced?.stop(), 60_000);

  it('puts a NET span of every hop between the client c-p and the server s-p, by tcp seq', () => {
    const byId = new Map(spans.map((s) => [s.id, s]));
    const parentOf = (s: TraceSpan): TraceSpan | undefined => (s.parentId ? byId.get(s.parentId) : undefined);
    const net = spans.filter((s) => s.source === 'net');
    expect(new Set(net.map((s) => s.protocol))).toEqual(new Set(['http', 'redis', 'mysql', 'postgresql', 'dns']));
    for (const s of net) {
      expect(s).toMatchObject({ origin: 'packet', observationPoint: 'c', interfaceName: 'lo', linkReason: 'tcp_seq' });
      const parent = parentOf(s);
      expect(parent?.observationPoint, `parent of the NET span ${s.protocol} ${s.requestResource}`).toBe('c-p');
      expect(parent?.reqTcpSeq).toBe(s.reqTcpSeq);
    }
    const curlCp = spans.find((s) => s.processName === 'curl' && s.observationPoint === 'c-p');
    const nginxSp = spans.find((s) => s.processName === 'nginx' && s.observationPoint === 's-p');
    const hop = nginxSp ? parentOf(nginxSp) : undefined;
    expect(hop).toMatchObject({ source: 'net', protocol: 'http' });
    expect(hop && parentOf(hop)?.id).toBe(curlCp?.id);
  });

  it('keeps the trace a tree: one root, each span once', () => {
    const ids = new Set(spans.map((s) => s.id));
    expect(ids.size).toBe(spans.length);
    expect(spans.filter((s) => s.parentId === null)).toHaveLength(1);
  });
});
