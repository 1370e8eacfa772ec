/**
 * @module The selected span: why it hangs where it does (in words), what else saw the same
 * message, its correlation keys, and every field of the record. Values are rendered as text
 * nodes by Preact; nothing here is ever parsed as HTML.
 */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { possibleParentsOf, warningText } from '../api/types.js';
import { formatDuration, formatWallClock } from '../format.js';
import { SOURCE_COLORS } from '../flamegraph/palette.js';
import { clockNote, confidenceWords, correlationKeys, describeSpanRole, explainLink, sameMessage } from '../trace/explain-link.js';
import { spanOwner } from '../trace/trace-model.js';
import type { TraceModel } from '../trace/trace-model.js';
import { CopyButton } from './copy-button.js';

/** Shown in their own sections, not in the flat field table. */
const SECTIONED = new Set(['attributes', 'resource', 'events', 'warnings', 'possibleParents']);

function valueText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v === '' ? '""' : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function KeyValues(props: { entries: [string, unknown][]; testid?: string }): JSX.Element {
  return (
    <table class="kv" data-testid={props.testid}>
      <tbody>
        {props.entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{valueText(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SpanRef(props: { model: TraceModel; index: number; onSelect: (i: number) => void }): JSX.Element {
  const s = props.model.span(props.index);
  const d = (props.model.end[props.index] as number) - (props.model.start[props.index] as number);
  return (
    <button type="button" class="spanref" onClick={() => props.onSelect(props.index)}>
      <span class="badge" style={{ background: SOURCE_COLORS[s.source][0] }}>
        {s.source.toUpperCase()} {s.observationPoint}
      </span>
      <span>{spanOwner(s)}</span>
      <span class="muted">{s.name}</span>
      <span class="muted">{formatDuration(d)}</span>
    </button>
  );
}

export interface SpanDetailsProps {
  model: TraceModel;
  index: number;
  collapsed: boolean;
  onSelect: (i: number) => void;
  onZoom: (i: number) => void;
  onToggle: (i: number) => void;
}

export function SpanDetails(props: SpanDetailsProps): JSX.Element {
  const { model, index } = props;
  const s = model.span(index);
  const parentIndex = model.parent[index] as number;
  const parent = parentIndex >= 0 ? model.span(parentIndex) : null;
  const same = useMemo(() => sameMessage(model, index), [model, index]);
  const possible = possibleParentsOf(s);
  const clock = clockNote(s);
  const duration = (model.end[index] as number) - (model.start[index] as number);
  const kids = (model.children[index] as number[]).length;
  const fields = Object.entries(s).filter(([k]) => !SECTIONED.has(k));
  const attrs = Object.entries(s.attributes ?? {});
  const resource = Object.entries(s.resource ?? {});
  return (
    <div class="details" data-testid="span-details">
      <div class="details-head">
        <span class="badge" style={{ background: SOURCE_COLORS[s.source][0] }} data-testid="details-source">
          {s.source.toUpperCase()} {s.observationPoint}
        </span>
        {model.error[index] === 1 ? <span class="badge err">error</span> : null}
        <h2 class="span-name" data-testid="details-name">
          {s.name || '(no name)'}
        </h2>
        <div class="muted">
          {spanOwner(s)}
          {s.protocol ? ` · ${s.protocol}` : ''} · {s.origin}
        </div>
        <div class="details-times">
          <strong>{formatDuration(duration)}</strong>
          <span class="muted"> self {formatDuration(model.selfNs[index] as number)} · starts at +{formatDuration(model.start[index] as number)} · {formatWallClock(s.startTimeUnixNano)}</span>
        </div>
        <div class="actions">
          <CopyButton value={s.traceId || model.traceId} label="trace id" />
          {s.spanId ? <CopyButton value={s.spanId} label="span id" /> : null}
          <button type="button" onClick={() => props.onZoom(index)}>
            zoom to span
          </button>
          {kids > 0 ? (
            <button type="button" onClick={() => props.onToggle(index)}>
              {props.collapsed ? `expand (${kids})` : `collapse (${kids})`}
            </button>
          ) : null}
        </div>
      </div>

      <section>
        <h3>Why it is here</h3>
        <p class="why" data-testid="link-explanation">
          {explainLink(s, parent)}
        </p>
        {s.linkReason !== null ? (
          <p class="small">
            link reason <code>{s.linkReason}</code>
            {s.confidence !== null ? (
              <>
                , confidence: <span data-testid="confidence">{confidenceWords(s.confidence)}</span>
              </>
            ) : null}
          </p>
        ) : null}
        {parent !== null ? (
          <p class="small">
            parent: <SpanRef model={model} index={parentIndex} onSelect={props.onSelect} />
          </p>
        ) : null}
        {clock !== null ? (
          <p class="note clock" data-testid="clock-note">
            {clock}
          </p>
        ) : null}
        {s.warnings.length > 0 ? (
          <ul class="warnings small">
            {(s.warnings as unknown[]).map((w, k) => (
              <li key={k}>{warningText(w)}</li>
            ))}
          </ul>
        ) : null}
      </section>

      <section data-testid="possible-parents">
        <h3>Possible parents not used</h3>
        {possible.length === 0 ? (
          <p class="muted small">None: no other span was a candidate parent{s.linkReason === null ? '' : ' (or the assembly did not report any)'}.</p>
        ) : (
          <ul class="plain">
            {possible.map((p, k) => {
              const found = p.id !== null ? model.indexOf(p.id) : -1;
              const at = found >= 0 ? found : undefined;
              const outside = [p.service || '(unknown service)', p.name, p.spanId ? `span ${p.spanId}` : '', p.traceId && p.traceId !== model.traceId ? `in trace ${p.traceId}` : ''].filter((x) => x !== '').join(' · ');
              return (
                <li key={k}>
                  {at !== undefined ? <SpanRef model={model} index={at} onSelect={props.onSelect} /> : <code>{outside || p.id}</code>}
                  <div class="small muted">
                    {p.reason !== null ? `would link by ${p.reason}` : 'ambiguous'}
                    {p.confidence !== null ? `, ${confidenceWords(p.confidence)}` : ''}
                    {p.why !== null ? ` — ${p.why}` : ''}
                  </div>
                </li>
              );
            })}
          </ul>
        )}
      </section>

      <section data-testid="same-message">
        <h3>Same message elsewhere</h3>
        {same.length === 0 ? (
          <p class="muted small">Seen at this observation point only.</p>
        ) : (
          <ul class="plain">
            {same.map((j) => (
              <li key={j}>
                <SpanRef model={model} index={j} onSelect={props.onSelect} />
              </li>
            ))}
          </ul>
        )}
        {parent !== null ? <p class="small muted">{`This span: ${describeSpanRole(s)}.`}</p> : null}
      </section>

      <section>
        <h3>Correlation keys</h3>
        <KeyValues entries={correlationKeys(s)} testid="correlation-keys" />
      </section>

      <section>
        <h3>All fields</h3>
        <KeyValues entries={fields} testid="all-fields" />
      </section>

      {attrs.length > 0 ? (
        <section>
          <h3>Attributes</h3>
          <KeyValues entries={attrs} />
        </section>
      ) : null}
      {resource.length > 0 ? (
        <section>
          <h3>Resource</h3>
          <KeyValues entries={resource} />
        </section>
      ) : null}
      {s.events.length > 0 ? (
        <section>
          <h3>Events</h3>
          <ul class="plain small">
            {s.events.map((e, k) => (
              <li key={k}>
                <strong>{e.name}</strong> <span class="muted">{formatWallClock(e.timeUnixNano)}</span>
                {Object.keys(e.attributes).length > 0 ? <KeyValues entries={Object.entries(e.attributes)} /> : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}
