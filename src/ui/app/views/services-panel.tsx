/** @module Where the trace's time went, per service: self time, total, spans by source. */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { formatDuration } from '../format.js';
import { SOURCE_COLORS } from '../flamegraph/palette.js';
import { serviceTimes } from '../trace/service-times.js';
import type { TraceModel } from '../trace/trace-model.js';

export function ServicesPanel(props: { model: TraceModel; onSearch: (text: string) => void }): JSX.Element {
  const rows = useMemo(() => serviceTimes(props.model), [props.model]);
  const maxSelf = Math.max(1, ...rows.map((r) => r.selfNs));
  return (
    <div class="services-panel">
      <p class="muted small">Self time: time in the service's spans not covered by their children. Click a service to highlight its spans.</p>
      <table class="services">
        <thead>
          <tr>
            <th>service</th>
            <th class="num">self time</th>
            <th class="num">total</th>
            <th class="num">spans</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.owner}>
              <td>
                <button type="button" class="link" onClick={() => props.onSearch(r.owner)}>
                  {r.owner}
                </button>
                <div class="selfbar">
                  <span style={{ width: `${(r.selfNs / maxSelf) * 100}%` }} />
                </div>
              </td>
              <td class="num">{formatDuration(r.selfNs)}</td>
              <td class="num">{formatDuration(r.totalNs)}</td>
              <td class="num">
                {r.spans}
                <span class="srcdots">
                  {(['app', 'sys', 'net'] as const).map((s) =>
                    r.sources[s] > 0 ? <span key={s} class="srcdot" style={{ background: SOURCE_COLORS[s][0] }} title={`${s.toUpperCase()} ${r.sources[s]}`} /> : null,
                  )}
                </span>
                {r.errors > 0 ? <span class="err-badge">{r.errors} err</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
