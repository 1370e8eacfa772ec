/**
 * @module The trace view: summary, warnings, the flame graph with its toolbar and legend, and
 * a side panel (the selected span, services, warnings). The selected span and the zoom are
 * written to the URL (replaceState), so the address bar is always a link to this view.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.js';
import { ApiError, AuthRequiredError } from '../api/client.js';
import type { ApiTrace } from '../api/types.js';
import { formatDuration, formatWallClock } from '../format.js';
import { labelsOf, shadesOf } from '../flamegraph/draw-flame.js';
import { layoutFlame } from '../flamegraph/layout.js';
import type { Route } from '../route.js';
import { emptySearch, routeUrl } from '../route.js';
import { collapsedAncestors, findInTrace } from '../trace/find-in-trace.js';
import { buildTraceModel, buildTraceModelFromColumns, SOURCES, spanOwner } from '../trace/trace-model.js';
import type { TraceModel } from '../trace/trace-model.js';
import { CopyButton } from './copy-button.js';
import { FlameGraph } from './flame-graph.js';
import type { ZoomRequest } from './flame-graph.js';
import { Legend } from './legend.js';
import { ServicesPanel } from './services-panel.js';
import { SpanDetails } from './span-details.js';

type TraceRoute = Extract<Route, { page: 'trace' }>;
const URL_DEBOUNCE_MS = 250;
const NS_PER_MS = 1e6;

export interface TracePageProps {
  api: ApiClient;
  route: TraceRoute;
  authEpoch: number;
  onAuth: (e: AuthRequiredError) => void;
  navigate: (r: Route) => void;
}

type Loaded = { state: 'loading' } | { state: 'error'; message: string; notFound: boolean } | { state: 'ready'; model: TraceModel };

/**
 * The trace as a model: from the columns answer; from the span-per-object answer when the page
 * was opened with `?via=json` (the benchmark's reference path) or the server predates columns.
 */
async function loadModel(api: ApiClient, traceId: string, signal: AbortSignal): Promise<TraceModel> {
  const fromJson = async (): Promise<TraceModel> => {
    const trace: ApiTrace = await api.trace(traceId, signal);
    performance.mark('weft-trace-fetched');
    return buildTraceModel(trace);
  };
  if (new URLSearchParams(location.search).get('via') === 'json') return fromJson();
  try {
    const columns = await api.traceColumns(traceId, signal);
    performance.mark('weft-trace-fetched');
    return buildTraceModelFromColumns(columns);
  } catch (err) {
    // A server without the columns route answers a plain 404, not "no such trace".
    if (err instanceof ApiError && err.status === 404 && err.code !== 'TRC_QUERY_TRACE_NOT_FOUND') return fromJson();
    throw err;
  }
}

export function TracePage(props: TracePageProps): JSX.Element {
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const { traceId } = props.route;
  useEffect(() => {
    const ctl = new AbortController();
    setLoaded({ state: 'loading' });
    loadModel(props.api, traceId, ctl.signal).then(
      (model) => {
        performance.mark('weft-trace-modelled');
        setLoaded({ state: 'ready', model });
      },
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        if (err instanceof AuthRequiredError) {
          props.onAuth(err);
          setLoaded({ state: 'error', message: 'This Weft server needs a token to show traces.', notFound: false });
          return;
        }
        const notFound = err instanceof ApiError && err.status === 404;
        setLoaded({ state: 'error', message: err instanceof Error ? err.message : String(err), notFound });
      },
    );
    return () => ctl.abort();
  }, [traceId, props.authEpoch]);

  if (loaded.state === 'loading') return <div class="page-msg">Loading trace {traceId} …</div>;
  if (loaded.state === 'error') {
    return (
      <div class="page-msg" data-testid="trace-error">
        <h2>{loaded.notFound ? 'No such trace' : 'Could not load the trace'}</h2>
        <p>{loaded.notFound ? `Nothing is stored under “${traceId}” (trace id, span id or SkyWalking trace id).` : loaded.message}</p>
        <p>
          <a href="/" onClick={(e) => (e.preventDefault(), props.navigate({ page: 'search', query: emptySearch(), submitted: false }))}>
            Back to search
          </a>
        </p>
      </div>
    );
  }
  return <TraceView key={loaded.model.traceId} model={loaded.model} route={props.route} />;
}

type Tab = 'span' | 'services' | 'warnings';

function TraceView(props: { model: TraceModel; route: TraceRoute }): JSX.Element {
  const { model, route } = props;
  const initialSelected = useMemo(() => {
    if (route.spanId !== null) {
      const byNode = model.indexOf(route.spanId);
      if (byNode >= 0) return byNode;
    }
    // Opened by a span id (pasted from a log): select that span.
    const asked = route.spanId ?? route.traceId;
    const spanId = model.text('spanId');
    for (let i = 0; i < model.count; i++) if (spanId(i) === asked) return i;
    return -1;
  }, [model]);
  const [selected, setSelected] = useState(initialSelected);
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(new Set());
  const [query, setQuery] = useState('');
  const [debounced, setDebounced] = useState('');
  const [hit, setHit] = useState(-1);
  const [tab, setTab] = useState<Tab>(initialSelected >= 0 ? 'span' : 'services');
  const [zoom, setZoom] = useState<ZoomRequest>(() => {
    const z = route.zoom;
    if (z !== null) return { t0: z.fromMs * NS_PER_MS, t1: z.toMs * NS_PER_MS, reveal: initialSelected, seq: 1 };
    return { t0: 0, t1: model.durationNs, reveal: initialSelected, seq: 1 };
  });
  const windowRef = useRef<[number, number]>([zoom.t0, zoom.t1]);
  const urlTimer = useRef(0);

  const layout = useMemo(() => layoutFlame(model, collapsed), [model, collapsed]);
  const labels = useMemo(() => labelsOf(model), [model]);
  const shades = useMemo(() => shadesOf(model), [model]);
  const found = useMemo(() => findInTrace(model, debounced), [model, debounced]);
  const counts = useMemo(() => {
    const c = { app: 0, sys: 0, net: 0 };
    for (let i = 0; i < model.count; i++) c[SOURCES[model.source[i] as number] ?? 'app']++;
    return c;
  }, [model]);
  const root = model.roots[0];
  const rootSpan = root !== undefined ? model.span(root) : undefined;

  useEffect(() => {
    const t = window.setTimeout(() => setDebounced(query), 150);
    return () => window.clearTimeout(t);
  }, [query]);

  const writeUrl = (): void => {
    const [t0, t1] = windowRef.current;
    const full = t0 <= 0 && t1 >= model.durationNs;
    const r: Route = {
      page: 'trace',
      traceId: model.traceId,
      spanId: selected >= 0 && selected < model.count ? model.text('id')(selected) : null,
      zoom: full ? null : { fromMs: t0 / NS_PER_MS, toMs: t1 / NS_PER_MS },
    };
    const url = routeUrl(r);
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
  };
  useEffect(writeUrl, [selected, model]);
  useEffect(() => {
    performance.mark('weft-trace-shown');
    document.title = `${rootSpan ? `${spanOwner(rootSpan)} ${rootSpan.name}` : model.traceId} · Weft`;
  }, [model]);

  const onView = (t0: number, t1: number): void => {
    windowRef.current = [t0, t1];
    window.clearTimeout(urlTimer.current);
    urlTimer.current = window.setTimeout(writeUrl, URL_DEBOUNCE_MS);
  };

  const reveal = (i: number, zoomTo: boolean): void => {
    const hiddenBy = collapsedAncestors(model, collapsed, i);
    if (hiddenBy.length > 0) {
      const next = new Set(collapsed);
      for (const a of hiddenBy) next.delete(a);
      setCollapsed(next);
    }
    const s = model.start[i] as number;
    const e = model.end[i] as number;
    let [t0, t1] = windowRef.current;
    if (zoomTo) {
      const pad = Math.max((e - s) * 0.05, 50);
      t0 = s - pad;
      t1 = e + pad;
    } else if (s < t0 || e > t1) {
      const w = Math.max(t1 - t0, (e - s) * 1.1);
      t0 = (s + e) / 2 - w / 2;
      t1 = t0 + w;
    }
    setZoom((z) => ({ t0, t1, reveal: i, seq: z.seq + 1 }));
    // The new window goes into the URL like a zoom by hand, so the link shows what is on screen.
    onView(t0, t1);
  };

  const select = (i: number): void => {
    setSelected(i);
    setTab('span');
  };
  const selectAndReveal = (i: number): void => {
    select(i);
    reveal(i, false);
  };
  const toggle = (i: number): void => {
    const next = new Set(collapsed);
    if (next.has(i)) next.delete(i);
    else next.add(i);
    setCollapsed(next);
  };
  const step = (dir: 1 | -1): void => {
    // Enter right after typing: search the text as typed, not what the debounce last saw.
    const current = query === debounced ? found : findInTrace(model, query);
    if (current === null || current.hits.length === 0) return;
    const from = query === debounced ? hit : -1;
    const k = (from + dir + current.hits.length) % current.hits.length;
    if (query !== debounced) setDebounced(query);
    setHit(k);
    selectAndReveal(current.hits[k] as number);
  };
  const resetZoom = (): void => {
    windowRef.current = [0, model.durationNs];
    setZoom((z) => ({ t0: 0, t1: model.durationNs, reveal: -1, seq: z.seq + 1 }));
    onView(0, model.durationNs);
  };

  return (
    <div class="trace-page">
      <div class="trace-head">
        <div>
          <h1 class="trace-title" data-testid="trace-title">
            {rootSpan ? (
              <>
                <span>{spanOwner(rootSpan)}</span> <span class="muted">{rootSpan.name}</span>
              </>
            ) : (
              model.traceId
            )}
          </h1>
          <div class="trace-meta">
            <span>
              <strong>{formatDuration(model.durationNs)}</strong>
            </span>
            <span>{model.count} spans</span>
            <span>{model.services.length === 1 ? '1 service' : `${model.services.length} services`}</span>
            <span>{formatWallClock(model.startUnixNano)}</span>
            <span class="mono">{model.traceId}</span>
            <CopyButton value={model.traceId} label="trace id" />
          </div>
        </div>
      </div>
      {model.warnings.length > 0 ? (
        <details class="trace-warnings" data-testid="trace-warnings">
          <summary>
            {model.warnings.length} warning{model.warnings.length === 1 ? '' : 's'} from assembly: {model.warnings[0]}
          </summary>
          <ul>
            {model.warnings.map((w, k) => (
              <li key={k}>{w}</li>
            ))}
          </ul>
        </details>
      ) : null}
      <div class="toolbar">
        <input
          type="search"
          placeholder="find in trace: name, service, path, id…"
          value={query}
          onInput={(e) => {
            setQuery((e.target as HTMLInputElement).value);
            setHit(-1);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') step(e.shiftKey ? -1 : 1);
          }}
          aria-label="find in trace"
          data-testid="trace-find"
        />
        {found !== null ? (
          <span class="small" data-testid="find-count">
            {found.hits.length === 0 ? 'no match' : `${hit >= 0 ? `${hit + 1} of ` : ''}${found.hits.length} match${found.hits.length === 1 ? '' : 'es'}`}
          </span>
        ) : null}
        <button type="button" onClick={() => step(-1)} disabled={found === null || found.hits.length === 0} title="previous match (Shift+Enter)">
          ‹
        </button>
        <button type="button" onClick={() => step(1)} disabled={found === null || found.hits.length === 0} title="next match (Enter)">
          ›
        </button>
        <span class="sep" />
        <button type="button" onClick={resetZoom} title="show the whole trace (0)">
          reset zoom
        </button>
        <button type="button" onClick={() => setCollapsed(new Set())} disabled={collapsed.size === 0}>
          expand all
        </button>
        <span class="grow" />
        <Legend counts={counts} />
      </div>
      <div class="trace-body">
        <FlameGraph model={model} layout={layout} labels={labels} shades={shades} selected={selected} match={found?.match ?? null} zoom={zoom} onSelect={select} onToggle={toggle} onView={onView} />
        <aside class="side">
          <nav class="tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab === 'span'} onClick={() => setTab('span')}>
              span
            </button>
            <button type="button" role="tab" aria-selected={tab === 'services'} onClick={() => setTab('services')}>
              services
            </button>
            <button type="button" role="tab" aria-selected={tab === 'warnings'} onClick={() => setTab('warnings')}>
              warnings ({model.warnings.length})
            </button>
          </nav>
          <div class="side-body">
            {tab === 'span' ? (
              selected >= 0 ? (
                <SpanDetails model={model} index={selected} collapsed={collapsed.has(selected)} onSelect={selectAndReveal} onZoom={(i) => reveal(i, true)} onToggle={toggle} />
              ) : (
                <p class="muted pad">Click a bar to see why that span is where it is, and every field it carries.</p>
              )
            ) : null}
            {tab === 'services' ? <ServicesPanel model={model} onSearch={(t) => setQuery(t)} /> : null}
            {tab === 'warnings' ? (
              model.warnings.length === 0 ? (
                <p class="muted pad">No warnings: every link was made on evidence the assembly trusts.</p>
              ) : (
                <ul class="warnings pad">
                  {model.warnings.map((w, k) => (
                    <li key={k}>{w}</li>
                  ))}
                </ul>
              )
            ) : null}
          </div>
        </aside>
      </div>
    </div>
  );
}
