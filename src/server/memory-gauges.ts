/**
 * @module What the server's resident memory is made of, as /metrics gauges (`weft_memory_*`), so
 * an operator can see which part grows when the process nears `--max-memory`.
 */
import { readFileSync } from 'node:fs';
import type { MetricSample } from './metrics.js';

/** The process's peak resident size so far (VmHWM), or 0 where /proc is not there. */
export function peakResidentBytes(): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

export interface MemoryParts {
  /** What the store's engine holds (DuckDB's buffer manager); null when it has none here. */
  storeBytes: number | null;
  /** Estimated bytes of decoded spans accepted and not yet durable. */
  pendingSpanBytes: number;
  /** Estimated bytes reserved by request bodies in flight. */
  bodyBytes: number;
  /** Full collections forced because the resident size neared the limit. */
  forcedGcs: number;
}

export function memorySamples(limitBytes: number, parts: MemoryParts): MetricSample[] {
  const m = process.memoryUsage();
  const g = (name: string, help: string, value: number): MetricSample => ({ name: `weft_memory_${name}`, help, type: 'gauge', value });
  const samples = [
    g('limit_bytes', 'The --max-memory bound on the resident size.', limitBytes),
    g('resident_bytes', 'Resident size of the server process (RSS).', m.rss),
    g('peak_resident_bytes', 'Highest resident size since the process started (VmHWM).', peakResidentBytes()),
    g('js_heap_used_bytes', 'JavaScript heap in use (live objects and garbage not yet collected).', m.heapUsed),
    g('js_heap_total_bytes', 'JavaScript heap reserved by V8.', m.heapTotal),
    g('external_bytes', 'Memory of Buffers and other native objects owned by JavaScript objects.', m.external),
    g('body_bytes', 'Estimated memory held by request bodies in flight (their budget).', parts.bodyBytes),
    g('pending_span_bytes', 'Estimated memory of decoded spans accepted and not yet durable.', parts.pendingSpanBytes),
  ];
  samples.push({ name: 'weft_memory_forced_gcs_total', help: 'Full garbage collections forced because the resident size neared --max-memory.', type: 'counter', value: parts.forcedGcs });
  if (parts.storeBytes !== null) samples.push(g('store_bytes', "Memory held by the embedded store's buffer manager (DuckDB).", parts.storeBytes));
  return samples;
}
