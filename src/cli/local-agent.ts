/**
 * @module The seam between `weft up` / `weft agent` and the eBPF agent in src/agent.
 *
 * The agent can only run with root, kernel BTF and the native addon built. When it cannot,
 * `startLocalAgent` returns why, `weft up` logs that as ONE line and the server runs on without
 * SYS spans.
 */
import { ebpfAvailability, startAgent } from '../agent/index.js';
import type { AgentStartOptions, RunningAgent } from '../agent/index.js';
import type { MetricsRegistry } from '../server/metrics.js';

export type { AgentStartOptions, RunningAgent };

export type AgentStartResult = { started: true; agent: RunningAgent } | { started: false; reason: string };

/** Why the agent cannot run here, or null when it can. */
export function agentUnavailableReason(): string | null {
  const a = ebpfAvailability();
  return a.ok ? null : a.reason;
}

export async function startLocalAgent(o: AgentStartOptions & { metrics?: MetricsRegistry }): Promise<AgentStartResult> {
  const reason = agentUnavailableReason();
  if (reason !== null) return { started: false, reason };
  const { metrics, ...startOptions } = o;
  const agent = await startAgent(startOptions);
  metrics?.add(() => agent.metrics());
  return { started: true, agent };
}
