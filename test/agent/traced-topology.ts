/**
 * @module What the NET capture end-to-end tests share: the eBPF gate (skip outside CI, fail in
 * CI), the trace span fields they read, reading a trace, and a real Weft with the demo topology
 * traced by an in-process agent.
 */
import { pino } from 'pino';
import { ebpfAvailability } from '../../src/agent/ebpf/native.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { startTopology, type Topology } from '../../src/demo/topology.js';
import { startTestWeft, type TestWeft } from '../e2e/weft-harness.js';

/** Why eBPF cannot run here (the caller skips), or null. In CI a missing capability throws. */
export function ebpfUnavailable(what: string): string | null {
  const availability = ebpfAvailability();
  const reason = availability.ok ? null : availability.reason;
  if (reason && process.env.CI === 'true') throw new Error(`${what} cannot run in CI: ${reason}`);
  return reason;
}

/** The fields of `/api/v1/traces/{id}` spans these tests read. */
export interface TraceSpan {
  id: string;
  parentId: string | null;
  linkReason: string | null;
  source: string;
  origin: string;
  observationPoint: string;
  processName: string;
  protocol: string;
  requestResource: string;
  reqTcpSeq: number;
  interfaceName: string;
}

/** The trace's spans, or [] while it does not exist yet. */
export async function fetchTrace(weft: TestWeft, traceId: string): Promise<TraceSpan[]> {
  const res = await fetch(`${weft.urls.query}/api/v1/traces/${traceId}`);
  if (res.status !== 200) {
    await res.arrayBuffer();
    return [];
  }
  return ((await res.json()) as { spans: TraceSpan[] }).spans;
}

export interface TracedTopology {
  weft: TestWeft;
  topo: Topology;
  agent: RunningAgent;
  /** The topology's ports (the agent's filter). */
  ports: number[];
  stop(): Promise<void>;
}

/** Weft, the demo topology without a frontend, and an in-process agent filtered to its ports. */
export async function startTracedTopology(interfaces: string[] = []): Promise<TracedTopology> {
  const weft = await startTestWeft();
  const topo = await startTopology({ frontend: 'none' });
  const ports = Object.values(topo.services).map((s) => s.port);
  const agent = await startAgent({ sink: weft.server.sink, interfaces, logger: pino({ level: 'silent' }), ebpf: { ports } });
  return {
    weft,
    topo,
    agent,
    ports,
    async stop() {
      await topo.stop();
      await agent.close();
      await weft.close();
    },
  };
}
