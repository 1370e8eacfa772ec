/**
 * @module Posts a remote agent's own counters (spans made, shipped, dropped and why, kernel
 * drops) to its server every few seconds, so they show in the server's /metrics: an agent on
 * another host has no /metrics of its own that anyone scrapes. Best effort: a failed post is
 * counted and the next one carries the newer totals anyway.
 */
import { AGENT_METRICS_PATH } from '../../model/index.js';
import type { AgentMetricsReport, AgentMetricsSample } from '../../model/index.js';

export interface MetricsReporterOptions {
  /** Server base URL, e.g. http://127.0.0.1:4318 (the OTLP/HTTP port). */
  serverUrl: string;
  token?: string;
  /** The agent's host id, the `agent` label on the server. */
  agent: string;
  collect: () => AgentMetricsSample[];
  /** Default 5 s. */
  intervalMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface MetricsReporter {
  /** Posts the current numbers now. Resolves to whether the server took them. */
  report(): Promise<boolean>;
  /** Stops the timer after one last report. */
  stop(): Promise<void>;
  /** Reports the server did not take (network error or non-2xx). */
  failures(): number;
}

export function startMetricsReporter(o: MetricsReporterOptions): MetricsReporter {
  const doFetch = o.fetch ?? fetch;
  const url = new URL(AGENT_METRICS_PATH, o.serverUrl).toString();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let failed = 0;
  let inFlight: Promise<boolean> | null = null;

  const post = async (): Promise<boolean> => {
    const body: AgentMetricsReport = { agent: o.agent, samples: o.collect() };
    try {
      const res = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(o.timeoutMs ?? 5_000) });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) failed++;
      return res.ok;
    } catch {
      failed++;
      return false;
    }
  };
  // One report at a time: a slow server must not pile them up.
  const report = (): Promise<boolean> => {
    inFlight ??= post().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
  const timer = setInterval(() => void report(), o.intervalMs ?? 5_000);
  timer.unref();
  return {
    report,
    async stop() {
      clearInterval(timer);
      await inFlight;
      await report();
    },
    failures: () => failed,
  };
}
