/**
 * @module How long the last requests took, as quantiles for /metrics: a fixed ring of recent
 * durations per series (no histogram buckets to choose), cheap to record on every response.
 */
import type { MetricSample } from './metrics.js';

/** Requests remembered per series: enough for a stable p99, small enough to sort per scrape. */
const WINDOW = 2048;
const QUANTILES = [0.5, 0.9, 0.99] as const;

export interface LatencyWindow {
  record(ms: number): void;
  /** Gauges `NAME{quantile="0.5"|"0.9"|"0.99", …labels}` in seconds over the window. */
  samples(name: string, help: string, labels: Record<string, string>): MetricSample[];
}

export function createLatencyWindow(): LatencyWindow {
  const ring = new Float64Array(WINDOW);
  let n = 0;
  return {
    record(ms) {
      ring[n % WINDOW] = ms;
      n++;
    },
    samples(name, help, labels) {
      if (n === 0) return [];
      const sorted = Array.from(ring.subarray(0, Math.min(n, WINDOW))).sort((a, b) => a - b);
      return QUANTILES.map((q) => ({
        name,
        help,
        type: 'gauge' as const,
        labels: { ...labels, quantile: String(q) },
        value: (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000,
      }));
    },
  };
}
