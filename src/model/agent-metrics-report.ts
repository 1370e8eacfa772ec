/**
 * @module What a remote agent (`weft agent --server URL`) reports about itself, so its drops
 * and capture counters show in the server's /metrics next to those of the in-process agent.
 * The agent posts one report every few seconds, as JSON, to the OTLP/HTTP port it ships spans to.
 */

/** Path on the OTLP/HTTP port (4318). */
export const AGENT_METRICS_PATH = '/v1/weft/agent-metrics';

export interface AgentMetricsSample {
  /** `weft_agent_…`, Prometheus style (`_total` for counters). */
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels?: Record<string, string>;
  value: number;
}

export interface AgentMetricsReport {
  /** The agent's host id (the `hostId` on its spans). */
  agent: string;
  samples: AgentMetricsSample[];
}
