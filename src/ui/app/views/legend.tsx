/** @module The flame graph's key: the three sources and the marks, from the palette itself. */
import type { JSX } from 'preact';
import type { SpanSource } from '../../../model/index.js';
import { CLOCK_COLOR, ERROR_COLOR, SOURCE_COLORS, SOURCE_LABELS } from '../flamegraph/palette.js';

const SOURCES: SpanSource[] = ['app', 'sys', 'net'];

export function Legend(props: { counts: Record<SpanSource, number> }): JSX.Element {
  return (
    <ul class="legend" aria-label="legend">
      {SOURCES.map((s) => (
        <li key={s} title={SOURCE_LABELS[s]} data-source={s}>
          <span class="swatch" style={{ background: SOURCE_COLORS[s][0] }} />
          {s.toUpperCase()} <span class="muted">{props.counts[s]}</span>
        </li>
      ))}
      <li title="error: status error or a failed L7 exchange">
        <span class="swatch" style={{ background: ERROR_COLOR }} /> error
      </li>
      <li title="assembly moved this span to correct a clock difference between hosts">
        <span class="swatch tri" style={{ borderTopColor: CLOCK_COLOR }} /> clock-corrected
      </li>
    </ul>
  );
}
