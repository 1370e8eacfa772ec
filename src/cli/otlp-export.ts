/**
 * @module `--export-otlp URL`: builds the OTLP exporter (src/exporter) for the server to feed with
 * every durable batch. The server may not import the exporter, so the CLI composes them.
 */
import { createOtlpExporter, DEFAULT_EXPORTER_OPTIONS, parseExportFilter } from '../exporter/index.js';
import type { OtlpExporter } from '../exporter/index.js';
import type { ExportOtlpConfig } from '../server/config.js';
import type { MetricSample } from '../server/metrics.js';
import { usageError } from './cli-errors.js';

/** The exporter for this config; throws TRC_CONFIG_INVALID (exit 2) for a bad --export-filter. */
export function createConfiguredExporter(cfg: ExportOtlpConfig): OtlpExporter {
  const parsed = parseExportFilter(cfg.filter);
  if (!parsed.ok) throw usageError('TRC_CONFIG_INVALID', `invalid configuration:\n  --export-filter ${parsed.error} (actual: '${cfg.filter}')`);
  return createOtlpExporter({ ...DEFAULT_EXPORTER_OPTIONS, url: cfg.url, filter: parsed.filter });
}

export function exporterSamples(exporter: OtlpExporter): MetricSample[] {
  const s = exporter.stats();
  const help = 'Spans of the OTLP exporter by outcome (exported, dropped at the full queue, failed after retries, queued).';
  return [
    { name: 'weft_exporter_spans', help, type: 'gauge', labels: { outcome: 'exported' }, value: s.exported },
    { name: 'weft_exporter_spans', help, type: 'gauge', labels: { outcome: 'dropped' }, value: s.dropped },
    { name: 'weft_exporter_spans', help, type: 'gauge', labels: { outcome: 'failed' }, value: s.failed },
    { name: 'weft_exporter_spans', help, type: 'gauge', labels: { outcome: 'queued' }, value: s.queued },
  ];
}
