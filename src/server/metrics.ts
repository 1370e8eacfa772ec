/**
 * @module Prometheus text exposition (format 0.0.4) for /metrics, hand-rolled: a handful of
 * counters and gauges do not justify a metrics library, and collectors stay plain functions.
 *
 * A `MetricsCollector` returns samples when scraped, so components keep their own counters
 * (pipeline stats, store counts, agent drops) and nothing is pushed per span.
 */

export type MetricType = 'counter' | 'gauge';

export interface MetricSample {
  /** Prometheus name, `weft_` prefixed, `_total` for counters. */
  name: string;
  help: string;
  type: MetricType;
  labels?: Record<string, string>;
  value: number;
}

/** Called on every scrape; may be async (a store count). */
export type MetricsCollector = () => MetricSample[] | Promise<MetricSample[]>;

/** Label values escape backslash, double quote and newline (exposition format spec). */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Renders samples grouped by metric name, HELP and TYPE once per name. */
export function renderPrometheus(samples: readonly MetricSample[]): string {
  const byName = new Map<string, MetricSample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines: string[] = [];
  for (const [name, group] of byName) {
    const first = group[0];
    if (!first) continue;
    lines.push(`# HELP ${name} ${escapeHelp(first.help)}`, `# TYPE ${name} ${first.type}`);
    for (const s of group) {
      const labels = Object.entries(s.labels ?? {});
      const labelText = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      lines.push(`${name}${labelText} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Collectors registered by the composition; scraping runs them all. */
export interface MetricsRegistry {
  add(collector: MetricsCollector): void;
  scrape(): Promise<string>;
}

export function createMetricsRegistry(): MetricsRegistry {
  const collectors: MetricsCollector[] = [];
  return {
    add(collector) {
      collectors.push(collector);
    },
    async scrape() {
      const all: MetricSample[] = [];
      for (const c of collectors) {
        try {
          all.push(...(await c()));
        } catch {
          // One failing source (a store mid-close) must not hide the others.
        }
      }
      return renderPrometheus(all);
    },
  };
}

/** Per-receiver counters kept by the composition (requests by status, spans accepted). */
export interface ReceiverCounters {
  requests: Map<string, number>;
  spansAccepted: number;
  spansRejectedOverload: number;
}

export function newReceiverCounters(): ReceiverCounters {
  return { requests: new Map(), spansAccepted: 0, spansRejectedOverload: 0 };
}

export function receiverSamples(name: string, c: ReceiverCounters): MetricSample[] {
  const samples: MetricSample[] = [
    { name: 'weft_receiver_spans_accepted_total', help: 'Spans a receiver stored durably.', type: 'counter', labels: { receiver: name }, value: c.spansAccepted },
    {
      name: 'weft_receiver_spans_rejected_total',
      help: 'Spans a receiver could not store (overload or storage failure).',
      type: 'counter',
      labels: { receiver: name },
      value: c.spansRejectedOverload,
    },
  ];
  for (const [status, n] of c.requests) {
    samples.push({ name: 'weft_receiver_requests_total', help: 'Receiver requests (HTTP) or calls (gRPC) by answer status.', type: 'counter', labels: { receiver: name, status }, value: n });
  }
  return samples;
}
