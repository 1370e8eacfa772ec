/**
 * The full network path between two services, made by the test: two node namespaces joined by
 * VXLAN over a veth wire, a bridge and a pod on each, and a service address node1 DNATs to pod B
 * with nftables (src/demo/network/network-path.ts). Real servers in the pods: curl (A) →
 * service address → nginx (B) → Node service (A) → Redis (B). One Weft agent per node, each
 * entering its node's namespace and capturing on `eth0,br*,vxlan*,veth*`, both shipping OTLP to
 * one Weft server. Both nodes share this kernel, so each agent's syscall hooks see every process:
 * each keeps only the processes in its own node's namespaces (`sysNamespaces: 'node'`: its node
 * and the pod behind its container veth), so no SYS span is doubled. node1's agent hooks the Node
 * service (the Node.js runtime links; the service's environment allows it, the test runner's
 * opts every other process out), so its Redis calls are linked to their request under load too.
 * No observation point is configured: each is inferred from the node's links, routes and NAT.
 *
 * Asserts that every request's trace chains each message through every hop, in path order,
 * between its c-p and s-p (the DNAT hop linked across the translation), that each process's
 * spans come once, from its own node's agent, and that with 32 requests in flight every hop of
 * every message is in its own request's trace and no span lands in another's.
 *
 * Needs root and BTF. Outside CI it skips with the reason; in CI (CI=true) it fails instead.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { createNetworkPath, PATH_ADDRESSES, PATH_INTERFACES, PATH_PORTS, startPathServices, type NetworkPath, type PathServices } from '../../src/demo/network/network-path.js';
import { startTestWeft, type TestWeft } from '../e2e/weft-harness.js';
import { ebpfUnavailable } from './traced-topology.js';
import { describeTrace, expectedHops, hopChains, type PathSpan } from './net-path-chains.js';

const unavailable = ebpfUnavailable('network path test');

const SEQUENTIAL = 4;
const IN_FLIGHT = 32;
const traceIdOf = (i: number, run: string): string => `${run}${i.toString(16).padStart(32 - run.length, '0')}`;

/** What the last read of each trace warned about, by trace id. */
const warningsOf = new Map<string, string[]>();

async function trace(weft: TestWeft, id: string): Promise<PathSpan[]> {
  const res = await fetch(`${weft.urls.query}/api/v1/traces/${id}`);
  if (res.status !== 200) {
    await res.arrayBuffer();
    return [];
  }
  const body = (await res.json()) as { spans: PathSpan[]; warnings: string[] };
  warningsOf.set(id, body.warnings);
  return body.spans;
}

/**
 * Waits until every trace holds `atLeast` s-p spans of `lastHop` (the last hop its messages must
 * reach) and has not changed for two polls in a row: the two agents ship on their own, and the
 * node that is busy with the next burst sends a message's last spans seconds later.
 */
async function settledTraces(weft: TestWeft, ids: string[], lastHop: string, atLeast: number): Promise<Map<string, PathSpan[]>> {
  const deadline = Date.now() + 60_000;
  const seen: string[] = [];
  for (;;) {
    const traces = new Map<string, PathSpan[]>();
    for (const id of ids) traces.set(id, await trace(weft, id));
    seen.push([...traces.values()].map((t) => t.length).join(','));
    const ready = [...traces.values()].every((t) => t.filter((s) => s.processName === lastHop && s.observationPoint === 's-p').length >= atLeast);
    if ((ready && seen.length >= 3 && seen.slice(-3).every((x) => x === seen.at(-1))) || Date.now() > deadline) return traces;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe.skipIf(unavailable !== null)('the full network path: bridge, DNAT, VXLAN, two nodes', () => {
  let path: NetworkPath;
  let services: PathServices;
  let weft: TestWeft;
  const agents: RunningAgent[] = [];
  const run = randomBytes(4).toString('hex');
  let sequential = new Map<string, PathSpan[]>();
  let concurrent = new Map<string, PathSpan[]>();
  let hooked = false;
  let hookRecord = '';

  beforeAll(async () => {
    const began = Date.now();
    path = createNetworkPath();
    // The memory store: this test is about the path, and a loaded CI machine's slow disk must not
    // turn the agents' batches away (429) while it waits.
    weft = await startTestWeft({ store: { kind: 'memory' } });
    const ports = [PATH_PORTS.service, PATH_PORTS.nginx, PATH_PORTS.app, PATH_PORTS.redis];
    const logger = pino({ level: 'silent' });
    // 4 KiB of each syscall and frame (the default is 1 KiB): under 32 in flight the Node service
    // pipelines its Redis commands, and Redis reads ~2.6 KiB of them in one read(); past the
    // prefix the later commands' server spans would be lost (issue 10 captures whole messages).
    const payloadBytes = 4096;
    for (const node of [path.ns.node1, path.ns.node2]) {
      agents.push(await startAgent({ serverUrl: weft.urls.otlpHttp, interfaces: PATH_INTERFACES, netns: [node], hostId: node, sysNamespaces: 'node', nodeHook: true, logger, ebpf: { ports, payloadBytes } }));
    }
    services = await startPathServices(path);
    // The Node service's hook must be in before the burst: the agent attaches once it sees the
    // service's socket I/O (the readiness probe's connection).
    const app = services.pids['app'] ?? 0;
    const hookDeadline = Date.now() + 90_000;
    while (!agents[0]?.runtimeLinks.hooked(app) && Date.now() < hookDeadline) await new Promise((r) => setTimeout(r, 100));
    hooked = agents[0]?.runtimeLinks.hooked(app) === true;
    const stage = (what: string): void => console.log(`net-path: ${what} after ${((Date.now() - began) / 1000).toFixed(1)} s`);
    stage(`the Node service hooked: ${hooked} (${hookRecord})`);
    hookRecord = JSON.stringify(await agents[0]?.runtimeLinks.attached(app));
    // Each request its own caller span id, as real clients send: one id shared by the burst made
    // its `parent` key hot, and every trace's walk read the other 31 requests' spans.
    const curl = (ids: string[]): string[] =>
      ids.flatMap((id, i) => [...(i > 0 ? ['--next'] : []), '-s', '-o', '/dev/null', '-w', '%{http_code}\\n', '-H', `traceparent: 00-${id}-${randomBytes(8).toString('hex')}-01`, `${services.url}/r-${id}`]);
    const seqIds = Array.from({ length: SEQUENTIAL }, (_, i) => traceIdOf(i + 1, `a${run}`));
    for (const id of seqIds) expect(await path.exec(path.ns.podA, 'curl', curl([id]))).toBe('200\n');
    const parIds = Array.from({ length: IN_FLIGHT }, (_, i) => traceIdOf(i + 1, `b${run}`));
    const out = await path.exec(path.ns.podA, 'curl', ['--parallel', '--parallel-immediate', '--parallel-max', String(IN_FLIGHT), ...curl(parIds)]);
    expect(out.trim().split('\n')).toEqual(parIds.map(() => '200'));
    stage('sequential requests answered');
    sequential = await settledTraces(weft, seqIds, 'redis-server', 2);
    stage('sequential traces settled');
    stage('concurrent requests answered');
    // At least one Redis call each: under 32 in flight a call may be left out (counted below).
    concurrent = await settledTraces(weft, parIds, 'redis-server', 1);
    stage('concurrent traces settled');
  }, 360_000);

  afterAll(async () => {
    await services?.stop();
    for (const a of agents) await a.close();
    await weft?.close();
    path?.destroy();
  }, 60_000);

  it('chains every hop of every message in path order between its c-p and s-p, with the points inferred', () => {
    const hops = expectedHops(path.ns.node1, path.ns.node2);
    for (const [id, spans] of sequential) {
      const chains = hopChains(spans, `/r-${id}`);
      for (const [name, expected] of Object.entries(hops)) {
        const got = chains[name as keyof typeof hops];
        // Both Redis calls (SET, GET), linked through the Node service's runtime report: the last
        // sequential request's calls wait for it while the burst's calls are written on the same
        // connection (once lost: the session table kept too few snapshots for a waiting span).
        expect(got.length, `trace ${id}: ${name} messages\n${describeTrace(spans)}`).toBe(name === 'redis' ? 2 : 1);
        for (const chain of got) expect(chain.map((s) => `${s.observationPoint} ${s.interfaceName}`), `trace ${id}: ${name}\n${describeTrace(spans)}`).toEqual(expected);
      }
    }
  });

  it('hooks the Node service in pod A (another network namespace) through its own node\'s agent only', () => {
    expect(hooked, `attach: ${hookRecord}`).toBe(true);
    expect(agents[1]?.runtimeLinks.hooked(services.pids['app'] ?? 0)).toBe(false);
  });

  it('traces each process once, from its own node\'s agent', () => {
    const nodeOf: Record<string, string> = { curl: path.ns.node1, node: path.ns.node1, nginx: path.ns.node2, 'redis-server': path.ns.node2 };
    for (const [id, spans] of [...sequential, ...concurrent]) {
      const sys = spans.filter((s) => s.source === 'sys');
      for (const s of sys) expect(`${s.processName} ${s.hostId}`, `trace ${id}`).toBe(`${s.processName} ${nodeOf[s.processName] ?? '?'}`);
      // One span per process, point and message: a doubled syscall would show twice.
      const keys = sys.map((s) => `${s.processName} ${s.observationPoint} ${s.requestType} ${s.requestResource}`);
      expect(new Set(keys).size, `trace ${id}: ${keys.join(', ')}`).toBe(keys.length);
      // The two Redis calls, never a doubled one (under 32 in flight a call whose runtime report
      // came too late is left out: counted by the completeness test below).
      const calls = sys.filter((s) => s.processName === 'node' && s.observationPoint === 'c-p').length;
      if (sequential.has(id)) expect(calls, `trace ${id}`).toBe(2);
      else expect(calls, `trace ${id}`).toBeLessThanOrEqual(2);
    }
  });

  it('links the DNAT hop across the translation', () => {
    for (const [id, spans] of sequential) {
      const [chain] = hopChains(spans, `/r-${id}`).client;
      expect(chain, `trace ${id}`).toBeDefined();
      const at = (op: string): PathSpan[] => (chain ?? []).filter((s) => s.observationPoint === op);
      // Before the translation the client's service address, after it pod B's nginx.
      for (const s of [...at('c-p'), ...at('c'), ...at('c-nd')]) expect([s.serverIp, s.serverPort]).toEqual([PATH_ADDRESSES.service, PATH_PORTS.service]);
      for (const s of [...at('s-gw'), ...at('s-nd'), ...at('s'), ...at('s-p')]) expect([s.serverIp, s.serverPort]).toEqual([PATH_ADDRESSES.podB, PATH_PORTS.nginx]);
      const gw = at('s-gw')[0];
      expect(gw?.attributes['weft.nat.original']).toMatch(new RegExp(`>${PATH_ADDRESSES.service.replace(/\./g, '\\.')}:${PATH_PORTS.service}$`));
      expect(gw?.attributes['weft.nat.translated']).toMatch(new RegExp(`>${PATH_ADDRESSES.podB.replace(/\./g, '\\.')}:${PATH_PORTS.nginx}$`));
      // br0 (br_netfilter translated at its port) and vxlan0 show the inner frame; eth0 carries it in VXLAN.
      expect(at('s-gw').map((s) => s.attributes['weft.tunnel.type'] ?? '')).toEqual(['', '', 'vxlan']);
    }
  });

  it('with 32 requests in flight, keeps every NET span in its own message and request', () => {
    const seen = new Map<string, string>();
    const hops = expectedHops(path.ns.node1, path.ns.node2);
    let complete = 0;
    let expected = 0;
    let redisComplete = 0;
    let redisExpected = 0;
    const misplacedCalls: string[] = [];
    const incomplete: string[] = [];
    for (const [id, spans] of concurrent) {
      for (const s of spans) {
        const key = `${s.source}:${s.observationPoint}:${s.hostId}:${s.interfaceName}:${s.spanId}`;
        expect(seen.get(key), `span ${key} is in two traces`).toBeUndefined();
        seen.set(key, id);
        // The HTTP messages carry the request's traceparent: any in this trace is this request's.
        if (s.protocol === 'http') expect(s.requestResource, `trace ${id}: ${s.source}/${s.observationPoint}`).toBe(`/r-${id}`);
      }
      const chains = hopChains(spans, `/r-${id}`);
      for (const name of ['client', 'proxy'] as const) {
        expect(chains[name].map((c) => c.map((s) => `${s.observationPoint} ${s.interfaceName}`)), `trace ${id}: ${name}\n${describeTrace(spans)}`).toEqual([hops[name]]);
      }
      // Every NET span hangs in the chain of its own message: the c-p it descends from by tcp seq
      // sent the same bytes (the same command and key).
      for (const cp of spans.filter((s) => s.observationPoint === 'c-p')) {
        for (const chain of [hopChains(spans, '').redis, hopChains(spans, '').client, hopChains(spans, '').proxy].flat().filter((c) => c[0] === cp)) {
          for (const s of chain) expect(`${s.requestType} ${s.requestResource}`, `trace ${id}: chain of ${cp.requestResource}`).toBe(`${cp.requestType} ${cp.requestResource}`);
        }
      }
      for (const s of spans) if (s.protocol === 'redis' && s.observationPoint === 'c-p' && !s.requestResource.includes(`r-${id}`)) misplacedCalls.push(`${s.requestResource} in ${id} via ${s.linkReason}`);
      for (const name of ['client', 'proxy', 'redis'] as const) {
        const want = name === 'redis' ? 2 : 1;
        expected += want * hops[name].length;
        const whole = chains[name].filter((c) => c.length === hops[name].length).length;
        complete += whole * hops[name].length;
        if (name === 'redis') {
          redisExpected += want * hops[name].length;
          redisComplete += whole * hops[name].length;
        }
        if (whole < want && incomplete.length < 3) incomplete.push(`trace ${id}: ${name}: ${whole} of ${want} whole\n${describeTrace(spans)}`);
      }
    }
    console.log(`net-path: ${complete} of ${expected} hop spans chained in their own request's trace with ${IN_FLIGHT} requests in flight`);
    // Each trace was read without running into the other requests: no hot key the whole burst
    // shared, no unrelated request read and pruned (Redis gives the commands it reads at once
    // one syscall id), no walk cut short.
    for (const id of concurrent.keys()) expect(warningsOf.get(id)?.filter((w) => /matched more than|pruned|walk stopped/.test(w)), `trace ${id}`).toEqual([]);
    // A Redis call reaches its request through the Node service's runtime links (no header).
    expect(misplacedCalls, 'Redis calls placed in another request\'s trace').toEqual([]);
    // The HTTP hops link by headers and tcp seq: every one. A Redis call links only through the
    // runtime hook's report, which a loaded agent may read after the span's wait is over; such a
    // call is left out of the trace (missing, never wrong, checked above). A few may go so.
    expect(complete - redisComplete, `HTTP hop spans chained in their own request's trace\n${incomplete.join('\n\n')}`).toBe(expected - redisExpected);
    expect(redisComplete, `Redis hop spans chained in their own request's trace\n${incomplete.join('\n\n')}`).toBeGreaterThanOrEqual(Math.ceil(0.95 * redisExpected));
  });
});
