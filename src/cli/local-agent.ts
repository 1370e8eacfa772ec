/**
 * @module The seam between `weft up` and the local agent.
 *
 * The agent lives in src/agent, which may not be built (no root, no BTF, no native addon, or
 * not landed yet). `startLocalAgent` looks for the agent's starter at run time; when it cannot
 * start, it logs ONE line saying why and the server runs on without SYS/NET spans.
 */
import type { Logger } from 'pino';
import type { IngestSink } from '../server/ingest/index.js';
import type { MetricsRegistry } from '../server/metrics.js';

/** What `src/agent/index.ts` is expected to export as `startAgent`. */
export interface AgentStartOptions {
  /** In-process: spans go straight into the server's pipeline (same durability and backpressure). */
  sink?: IngestSink;
  /** Remote: the server's OTLP HTTP endpoint base (`weft agent --server URL`). */
  serverUrl?: string;
  token?: string;
  interfaces: string[];
  logger: Logger;
}

export interface RunningAgent {
  close(): Promise<void>;
  /** Drop and parse-error counters for /metrics, as Prometheus samples. */
  metrics?: () => { name: string; help: string; type: 'counter' | 'gauge'; labels?: Record<string, string>; value: number }[];
}

type StartAgent = (o: AgentStartOptions) => Promise<RunningAgent>;
type Availability = () => { available: boolean; reason?: string } | Promise<{ available: boolean; reason?: string }>;

/** Loads an optional module; null when it is not there (not built or not landed). */
async function optionalImport(relative: string): Promise<Record<string, unknown> | null> {
  try {
    return (await import(new URL(relative, import.meta.url).href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

export type AgentStartResult = { started: true; agent: RunningAgent } | { started: false; reason: string };

/** The agent's own modules resolve next to this file: dist/agent when built, src/agent under tsx. */
export async function loadAgentStarter(): Promise<{ start: StartAgent; availability: Availability | null } | { reason: string }> {
  const index = await optionalImport('../agent/index.js');
  const start = index?.startAgent;
  if (typeof start !== 'function') return { reason: 'the agent is not built in this checkout yet (src/agent exports no startAgent)' };
  const native = await optionalImport('../agent/ebpf/native.js');
  const availability = typeof native?.ebpfAvailability === 'function' ? (native.ebpfAvailability as Availability) : null;
  return { start: start as StartAgent, availability };
}

export async function startLocalAgent(o: AgentStartOptions & { metrics?: MetricsRegistry }): Promise<AgentStartResult> {
  const loaded = await loadAgentStarter();
  if ('reason' in loaded) return { started: false, reason: loaded.reason };
  if (loaded.availability) {
    const a = await loaded.availability();
    if (!a.available) return { started: false, reason: a.reason ?? 'eBPF is not available here' };
  }
  const { metrics, ...startOptions } = o;
  const agent = await loaded.start(startOptions);
  if (agent.metrics && metrics) {
    const m = agent.metrics;
    metrics.add(() => m());
  }
  return { started: true, agent };
}
