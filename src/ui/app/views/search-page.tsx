/**
 * @module The search page: the form (service, operation, protocol, source, status, durations,
 * time range), the latency scatter (brushing narrows the search) and the results list. The
 * form's fields live in the URL, so a search is a link too.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.js';
import { AuthRequiredError } from '../api/client.js';
import { warningText } from '../api/types.js';
import type { TraceSearchAnswer, TraceSummary } from '../api/types.js';
import { formatDuration, formatWallClock, toDateTimeLocal } from '../format.js';
import { SOURCE_COLORS } from '../flamegraph/palette.js';
import { LOOKBACKS, searchParams } from '../route.js';
import type { Route, SearchQuery } from '../route.js';
import type { Brush } from './latency-scatter.js';
import { LatencyScatter } from './latency-scatter.js';

type SearchRoute = Extract<Route, { page: 'search' }>;

export interface SearchPageProps {
  api: ApiClient;
  route: SearchRoute;
  authEpoch: number;
  onAuth: (e: AuthRequiredError) => void;
  navigate: (r: Route) => void;
}

const PROTOCOLS = ['http', 'http2', 'grpc', 'dns', 'mysql', 'postgresql', 'redis'];

type Results = { state: 'idle' } | { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; answer: TraceSearchAnswer };

export function SearchPage(props: SearchPageProps): JSX.Element {
  const [form, setForm] = useState<SearchQuery>(props.route.query);
  const [services, setServices] = useState<string[]>([]);
  const [operations, setOperations] = useState<string[]>([]);
  const [results, setResults] = useState<Results>({ state: 'idle' });
  const q = props.route.query;

  useEffect(() => setForm(props.route.query), [props.route]);

  useEffect(() => {
    const ctl = new AbortController();
    props.api.services(ctl.signal).then(setServices, (err: unknown) => {
      if (err instanceof AuthRequiredError) props.onAuth(err);
    });
    return () => ctl.abort();
  }, [props.authEpoch]);

  useEffect(() => {
    if (form.service === '') {
      setOperations([]);
      return undefined;
    }
    const ctl = new AbortController();
    props.api.operations(form.service, ctl.signal).then(setOperations, () => setOperations([]));
    return () => ctl.abort();
  }, [form.service, props.authEpoch]);

  useEffect(() => {
    const ctl = new AbortController();
    setResults({ state: 'loading' });
    props.api.searchTraces(searchParams(q, Date.now()), ctl.signal).then(
      (answer) => setResults({ state: 'ready', answer }),
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        if (err instanceof AuthRequiredError) {
          props.onAuth(err);
          setResults({ state: 'error', message: 'This Weft server needs a token: enter it to search.' });
          return;
        }
        setResults({ state: 'error', message: err instanceof Error ? err.message : String(err) });
      },
    );
    return () => ctl.abort();
  }, [props.route, props.authEpoch]);

  const set = (k: keyof SearchQuery) => (e: Event): void => {
    const v = (e.target as HTMLInputElement | HTMLSelectElement).value;
    setForm((f) => ({ ...f, [k]: v, ...(k === 'service' ? { operation: '' } : {}) }));
  };
  const submit = (e: Event): void => {
    e.preventDefault();
    props.navigate({ page: 'search', query: form, submitted: true });
  };
  const onBrush = (b: Brush): void => {
    props.navigate({
      page: 'search',
      query: { ...form, lookback: 'custom', start: String(b.startMs), end: String(b.endMs), minDuration: `${Math.floor(b.minNs / 1000)}us`, maxDuration: `${Math.ceil(b.maxNs / 1000)}us` },
      submitted: true,
    });
  };
  const openTrace = (traceId: string): void => props.navigate({ page: 'trace', traceId, spanId: null, zoom: null });
  const customMs = (s: string): string => (/^\d+$/.test(s) ? toDateTimeLocal(Number(s)) : '');
  const fromLocal = (k: 'start' | 'end') => (e: Event): void => {
    const v = (e.target as HTMLInputElement).value;
    const ms = v === '' ? NaN : new Date(v).getTime();
    setForm((f) => ({ ...f, [k]: Number.isFinite(ms) ? String(ms) : '' }));
  };

  return (
    <div class="search-page">
      <form class="search-form" onSubmit={submit} data-testid="search-form">
        <label>
          service
          <select value={form.service} onChange={set('service')} name="service">
            <option value="">any</option>
            {services.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
            {form.service !== '' && !services.includes(form.service) ? <option value={form.service}>{form.service}</option> : null}
          </select>
        </label>
        <label>
          operation
          <input list="weft-operations" value={form.operation} onInput={set('operation')} name="operation" placeholder="any" />
          <datalist id="weft-operations">
            {operations.map((o) => (
              <option key={o} value={o} />
            ))}
          </datalist>
        </label>
        <label>
          protocol
          <input list="weft-protocols" value={form.protocol} onInput={set('protocol')} name="protocol" placeholder="any" size={10} />
          <datalist id="weft-protocols">
            {PROTOCOLS.map((o) => (
              <option key={o} value={o} />
            ))}
          </datalist>
        </label>
        <label>
          source
          <select value={form.source} onChange={set('source')} name="source">
            <option value="">any</option>
            <option value="app">APP</option>
            <option value="sys">SYS</option>
            <option value="net">NET</option>
          </select>
        </label>
        <label>
          status
          <select value={form.status} onChange={set('status')} name="status">
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="error">errors</option>
          </select>
        </label>
        <label>
          min duration
          <input value={form.minDuration} onInput={set('minDuration')} name="minDuration" placeholder="e.g. 10ms" size={8} />
        </label>
        <label>
          max duration
          <input value={form.maxDuration} onInput={set('maxDuration')} name="maxDuration" placeholder="e.g. 2s" size={8} />
        </label>
        <label>
          time
          <select value={form.lookback} onChange={set('lookback')} name="lookback">
            {LOOKBACKS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {form.lookback === 'custom' ? (
          <>
            <label>
              from
              <input type="datetime-local" step={1} value={customMs(form.start)} onChange={fromLocal('start')} name="start" />
            </label>
            <label>
              to
              <input type="datetime-local" step={1} value={customMs(form.end)} onChange={fromLocal('end')} name="end" />
            </label>
          </>
        ) : null}
        <label>
          limit
          <select value={form.limit} onChange={set('limit')} name="limit">
            {['20', '50', '100', '200'].map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" data-testid="search-submit">
          Find traces
        </button>
      </form>

      {results.state === 'loading' ? <p class="muted pad">Searching …</p> : null}
      {results.state === 'error' ? (
        <p class="error pad" data-testid="search-error">
          {results.message}
        </p>
      ) : null}
      {results.state === 'ready' ? (
        <>
          <div class="scatter-box">
            <div class="scatter-head small muted">
              Latency over time: drag a rectangle to narrow the search, click a dot to open the trace.
            </div>
            <LatencyScatter traces={results.answer.traces} onBrush={onBrush} onOpen={openTrace} />
          </div>
          <ResultsList answer={results.answer} onOpen={openTrace} />
        </>
      ) : null}
    </div>
  );
}

function SourceCounts(props: { t: TraceSummary }): JSX.Element {
  return (
    <span class="srccounts">
      {(['app', 'sys', 'net'] as const).map((s) => (
        <span key={s} class="srccount" style={{ borderColor: SOURCE_COLORS[s][2], background: props.t.spanCounts[s] > 0 ? SOURCE_COLORS[s][1] : 'transparent' }} title={`${props.t.spanCounts[s]} ${s.toUpperCase()} spans`} data-source={s}>
          {s.toUpperCase()} {props.t.spanCounts[s]}
        </span>
      ))}
    </span>
  );
}

function ResultsList(props: { answer: TraceSearchAnswer; onOpen: (id: string) => void }): JSX.Element {
  const { traces } = props.answer;
  const maxD = Math.max(1, ...traces.map((t) => Number(t.durationNano)));
  if (traces.length === 0) {
    return (
      <div class="pad empty" data-testid="no-results">
        <p>No traces match. Widen the time range, or send some: <code>npx weft demo</code> next to a running <code>weft up</code>.</p>
      </div>
    );
  }
  return (
    <div class="results">
      <div class="results-head small muted">
        {traces.length} trace{traces.length === 1 ? '' : 's'}
        {props.answer.truncated ? ` (more matched; showing the newest ${props.answer.limit})` : ''}
      </div>
      {(props.answer.warnings ?? []).map((w, k) => (
        <p key={k} class="small search-warning" data-testid="search-warning">
          {warningText(w)}
        </p>
      ))}
      <table class="results-table" data-testid="results">
        <thead>
          <tr>
            <th>root</th>
            <th>duration</th>
            <th>spans</th>
            <th class="num">errors</th>
            <th>services</th>
            <th>started</th>
          </tr>
        </thead>
        <tbody>
          {traces.map((t) => (
            <tr key={t.traceId} class="result" data-trace-id={t.traceId}>
              <td class="root">
                <a
                  href={`/trace/${encodeURIComponent(t.traceId)}`}
                  onClick={(e) => {
                    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
                    e.preventDefault();
                    props.onOpen(t.traceId);
                  }}
                  data-testid="result-link"
                >
                  <strong>{t.rootService || '(unknown service)'}</strong> <span>{t.rootName || '(no name)'}</span>
                </a>
                <div class="small muted mono">
                  {t.rootSource.toUpperCase()} {t.rootObservationPoint} · {t.traceId}
                </div>
              </td>
              <td class="dur">
                <div class="durbar">
                  <span style={{ width: `${(Number(t.durationNano) / maxD) * 100}%` }} />
                </div>
                {formatDuration(Number(t.durationNano))}
              </td>
              <td>
                <SourceCounts t={t} />
              </td>
              <td class="num">{t.errorCount > 0 ? <span class="err-badge">{t.errorCount}</span> : <span class="muted">0</span>}</td>
              <td class="small">
                {t.services.slice(0, 4).join(', ')}
                {t.services.length > 4 ? ` +${t.services.length - 4}` : ''}
                {t.warningCount > 0 ? <div class="muted">{t.warningCount} warning{t.warningCount === 1 ? '' : 's'}</div> : null}
              </td>
              <td class="small muted">{formatWallClock(t.startTimeUnixNano)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
