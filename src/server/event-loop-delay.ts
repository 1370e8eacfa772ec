/**
 * @module How long the server's event loop was held, for /metrics: everything the server answers
 * (acks, /healthz, queries) waits behind whatever holds the loop, so this is the number that says
 * whether a slow answer was the loop or the machine.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MetricSample, MetricsCollector } from './metrics.js';

/** Sampling resolution, ms: finer costs a timer wake-up that often. */
const RESOLUTION_MS = 10;
const QUANTILES = [0.5, 0.99, 1] as const;

/**
 * Gauges `weft_event_loop_delay_seconds{quantile}` (1 = the maximum) over the time since the
 * previous scrape, so each scrape shows the recent past rather than the whole uptime.
 */
export function eventLoopDelayCollector(): { collect: MetricsCollector; stop: () => void } {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  return {
    collect: (): MetricSample[] => {
      const out = QUANTILES.map((q) => ({
        name: 'weft_event_loop_delay_seconds',
        help: 'Event-loop delay since the previous scrape, by quantile (1 = the longest): how long anything ready to run had to wait.',
        type: 'gauge' as const,
        labels: { quantile: String(q) },
        // The histogram is in ns and starts at the resolution; an idle loop reads about 0.
        value: h.count === 0 ? 0 : Math.max(0, (q === 1 ? h.max : h.percentile(q * 100)) / 1e9 - RESOLUTION_MS / 1000),
      }));
      h.reset();
      return out;
    },
    stop: () => h.disable(),
  };
}
