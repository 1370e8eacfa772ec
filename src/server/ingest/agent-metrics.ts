/**
 * @module The latest self-report of each remote agent (AGENT_METRICS_PATH), validated and kept
 * for /metrics: every sample gets an `agent` label, and `weft_agent_report_age_seconds` says how
 * old each agent's numbers are. Agents that stop reporting are forgotten after `ttlMs`; at most
 * `maxAgents` are kept (the least recently heard from goes first).
 */
import { TracingError } from '../../model/index.js';
import type { AgentMetricsReport, AgentMetricsSample } from '../../model/index.js';
import type { MetricSample } from '../metrics.js';

const NAME = /^weft_agent_[a-z0-9_]{1,100}$/;
const LABEL_KEY = /^[a-z_][a-z0-9_]{0,40}$/;
const MAX_SAMPLES = 500;
const MAX_LABELS = 8;
const MAX_TEXT = 200;

export interface RemoteAgentMetrics {
  /** Validates one report body (JSON) and keeps it; throws TRC_INGEST_MALFORMED (400) when invalid. */
  record(body: Buffer): void;
  samples(): MetricSample[];
}

export interface RemoteAgentMetricsOptions {
  maxAgents?: number;
  ttlMs?: number;
  now?: () => number;
}

function malformed(why: string): TracingError {
  return new TracingError('TRC_INGEST_MALFORMED', `agent metrics report: ${why}`, { httpStatus: 400 });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(v: unknown, what: string, min = 0): string {
  if (typeof v !== 'string' || v.length < min || v.length > MAX_TEXT) throw malformed(`${what} must be a string of ${min}..${MAX_TEXT} characters`);
  return v;
}

function sampleOf(v: unknown, i: number): AgentMetricsSample {
  const at = `samples[${i}]`;
  if (!isRecord(v)) throw malformed(`${at} must be an object`);
  const name = v['name'];
  if (typeof name !== 'string' || !NAME.test(name)) throw malformed(`${at}.name must match ${NAME.source}`);
  const type = v['type'];
  if (type !== 'counter' && type !== 'gauge') throw malformed(`${at}.type must be "counter" or "gauge"`);
  const value = v['value'];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw malformed(`${at}.value must be a finite number`);
  const help = v['help'] === undefined ? name : text(v['help'], `${at}.help`);
  const sample: AgentMetricsSample = { name, help, type, value };
  const labels = v['labels'];
  if (labels !== undefined) {
    if (!isRecord(labels)) throw malformed(`${at}.labels must be an object`);
    const entries = Object.entries(labels);
    if (entries.length > MAX_LABELS) throw malformed(`${at}.labels has more than ${MAX_LABELS} entries`);
    const out: Record<string, string> = {};
    for (const [k, lv] of entries) {
      if (!LABEL_KEY.test(k) || k === 'agent') throw malformed(`${at}.labels key ${JSON.stringify(k.slice(0, 50))} is not a label name (or is "agent")`);
      out[k] = text(lv, `${at}.labels.${k}`);
    }
    sample.labels = out;
  }
  return sample;
}

/** A report body → the report, or TRC_INGEST_MALFORMED saying what is wrong. */
export function parseAgentMetricsReport(body: Buffer): AgentMetricsReport {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw malformed(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(json)) throw malformed('the body must be a JSON object');
  const agent = text(json['agent'], 'agent', 1);
  const samples = json['samples'];
  if (!Array.isArray(samples) || samples.length > MAX_SAMPLES) throw malformed(`samples must be an array of at most ${MAX_SAMPLES}`);
  return { agent, samples: samples.map(sampleOf) };
}

export function createRemoteAgentMetrics(opts: RemoteAgentMetricsOptions = {}): RemoteAgentMetrics {
  const maxAgents = opts.maxAgents ?? 1000;
  const ttlMs = opts.ttlMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  // Insertion order = least recently heard from first (a report re-inserts its agent).
  const latest = new Map<string, { samples: AgentMetricsSample[]; at: number }>();
  const expire = (): void => {
    const cutoff = now() - ttlMs;
    for (const [agent, r] of latest) if (r.at < cutoff) latest.delete(agent);
  };
  return {
    record(body) {
      const report = parseAgentMetricsReport(body);
      latest.delete(report.agent);
      latest.set(report.agent, { samples: report.samples, at: now() });
      expire();
      while (latest.size > maxAgents) latest.delete(latest.keys().next().value as string);
    },
    samples() {
      expire();
      const out: MetricSample[] = [];
      for (const [agent, r] of latest) {
        for (const s of r.samples) out.push({ ...s, labels: { ...s.labels, agent } });
        out.push({ name: 'weft_agent_report_age_seconds', help: 'Seconds since a remote agent last reported its metrics', type: 'gauge', labels: { agent }, value: (now() - r.at) / 1000 });
      }
      return out;
    },
  };
}
