/**
 * @module UI benchmark (`npm run bench -- ui`): full-stack traces of 1k, 10k and 100k spans
 * opened in Debian's Chromium. Time to first draw (navigation start → the flame graph's first
 * canvas draw, including the page, the trace's transfer, decode, model and layout), then frame
 * times while scrolling (120 frames) and while zooming with Ctrl+wheel (120 frames): the
 * interval between animation frames (16.7 ms is 60 fps) and the draw time itself.
 *
 * Side by side, alternating run by run (this machine is shared and its load swings), medians of
 * WEFT_BENCH_UI_REPEATS runs:
 * - **columns**: what the UI does (`/api/v1/traces/{id}/columns`, preloaded by the shell; plain
 *   over loopback, gzip for remote browsers);
 * - **json** (reference): the same UI fetching the span-per-object answer (`?compact=true`, what
 *   the previous build did), opened with `?via=json`;
 * - **dom** (reference): a plain DOM timeline of the same trace (bench/ui-dom-reference.js, one
 *   row of elements per span: the approach of list-based trace views), sizes up to
 *   WEFT_BENCH_UI_DOM_MAX spans (its 100k-span first paint alone took a minute).
 *
 * Two servers. *in-process*: generated traces (`generatedTrace`) served pre-encoded by a small
 * Fastify app with the real UI routes: the browser's side alone, up to 100k spans (the real
 * server's trace walk stops at 20,000). *weft up* (the FULL PATH lines): a real `weft up` child
 * process (test/ui/weft-up.ts; bin/weft.js running the built dist/, as `npx weft up` does) holding the same generated traces as the spans a server receives
 * (`generatedSpanRecords`), posted as OTLP and stored, then opened by URL: navigation → first
 * draw with the walk and assembly included, for WEFT_BENCH_UI_UP_SIZES (default
 * 1000,10000,100000; the 100k-span trace opens cut at the walk's 20k), each run on its own copy
 * of the trace, cold and then reopened (the server keeps assembled traces for a moment); the
 * columns answer's Server-Timing says how much of it the server took. WEFT_BENCH_UI_REF: a
 * checkout of the previous commit (`git worktree add /tmp/weft-old HEAD`) whose `weft up` runs
 * beside this one, runs alternating.
 *
 * Env: WEFT_BENCH_UI_SIZES (default 1000,10000,100000; empty: no in-process part),
 * WEFT_BENCH_UI_UP_SIZES, WEFT_BENCH_UI_REPEATS (default 3), WEFT_BENCH_UI_DOM_MAX (default
 * 10000), WEFT_BENCH_UI_REF, WEFT_CHROMIUM (default /usr/bin/chromium).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import type { Page } from 'playwright-core';
import type { ApiSpan, ApiTrace } from '../src/server/query/index.js';
import { compactItem } from '../src/server/query/json-stream.js';
import { toTraceColumns } from '../src/server/query/trace-columns.js';
import { apiSpan } from '../src/ui/app/trace/trace-fixture.js';
import { installWebUi } from '../src/ui/ui-server.js';
import { launchChromium } from '../test/ui/browser.js';
import { startWeftUp, type WeftUp } from '../test/ui/weft-up.js';
import { emptySpan } from '../src/model/index.js';
import type { SpanRecord } from '../src/model/index.js';
import { rng } from './prng.js';

const ROOT = new URL('../', import.meta.url).pathname;
/** The span fields a compact answer keeps (the contract's; weft-api.ts has the same list). */
const CONTRACT_SPAN_FIELDS: ReadonlySet<string> = new Set(['id', 'parentId', 'source', 'observationPoint', 'name', 'service', 'startTimeUnixNano', 'endTimeUnixNano', 'protocol', 'traceId', 'spanId', 'parentSpanId', 'linkReason']);
const FRAMES = 120;
const VIEWPORT = { width: 1500, height: 900 };

type PathName = 'columns' | 'json' | 'dom' | 'columns, reopened';

/** Time to first draw of one trace by one path: the median of the runs, and what it is made of. */
export interface FirstDrawRow {
  server: 'in-process' | 'weft up' | 'weft up, previous commit';
  spans: number;
  path: PathName;
  firstDrawMs: number;
  runsMs: number[];
  /** Navigation start → the trace's last byte (page, request, server, transfer). */
  responseEndMs: number;
  /** Request sent → first byte of the answer (the server's time, mostly). */
  ttfbMs: number;
  /** Last byte → first draw: decode, model, layout, render, draw (the UI's own work). */
  uiWorkMs: number;
  /** CPU time of the page's main thread up to the first draw (near what an idle core would take). */
  mainCpuMs: number;
  /** CPU time of the page's whole renderer process up to the first draw. */
  rendererCpuMs: number;
  /** Bytes on the wire (compressed) and decoded. */
  transferKB: number;
  bodyKB: number;
  /** The columns answer's Server-Timing (load, encode, gzip), ms. */
  serverTiming: string;
  /** CPU time of the `weft up` process (every thread: JS, GC, DuckDB) from navigation to first draw; 0 in-process. */
  serverCpuMs: number;
  /** 1-minute load average when the row was measured (2 cores here). */
  loadAvg: number;
}

export interface FrameRow {
  spans: number;
  renderer: 'weft-canvas' | 'dom-reference';
  loadAvg: number;
  scroll: FrameStats;
  zoom: FrameStats;
}

export interface UiBenchResult {
  firstDraw: FirstDrawRow[];
  frames: FrameRow[];
}

export interface FrameStats {
  /** Interval between animation frames, ms. */
  frameP50Ms: number;
  frameP95Ms: number;
  frameMaxMs: number;
  /** Time spent drawing (weft) or updating the DOM (reference) per frame, ms. */
  workP50Ms: number;
  workP95Ms: number;
}

const percentile = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

const round = (x: number): number => Math.round(x * 100) / 100;

function stats(frames: readonly number[], work: readonly number[]): FrameStats {
  return {
    frameP50Ms: round(percentile(frames, 50)),
    frameP95Ms: round(percentile(frames, 95)),
    frameMaxMs: round(Math.max(0, ...frames)),
    workP50Ms: round(percentile(work, 50)),
    workP95Ms: round(percentile(work, 95)),
  };
}

/**
 * A full-stack trace of exactly `size` spans: services call services (some calls in parallel,
 * most in sequence); each call is the chain c-app → c-p → c → s → s-p → s-app, as Weft
 * assembles a real hop, with tcp_seq / span_id / syscall link reasons.
 */
export function generatedTrace(size: number): ApiTrace {
  const rand = rng(size);
  const traceId = (size + 0xabc).toString(16).padStart(32, '0');
  const spans: ApiSpan[] = [];
  const services = Array.from({ length: 24 }, (_, i) => `svc-${String.fromCharCode(97 + (i % 26))}${i}`);
  const ops = ['GET /api/items', 'POST /checkout', 'SELECT orders', 'GET user:42', 'A db.internal', 'GET /health'];
  const protocols = ['http', 'http', 'mysql', 'redis', 'dns', 'http'];
  let seq = 1000;
  const make = (parent: ApiSpan | null, source: ApiSpan['source'], op: ApiSpan['observationPoint'], service: string, name: string, start: number, end: number, reason: ApiSpan['linkReason'], protocol: string): ApiSpan => {
    const n = spans.length;
    const id = (n + 1).toString(16).padStart(16, '0');
    const statusCode = rand() < 0.01 ? 'error' : 'unset';
    const clockOffsetNano = rand() < 0.02 ? '150000' : '0';
    // Times in ns from t0 (the fixture's T0), given to the fixture in ms.
    const s = apiSpan(id, parent?.id ?? null, start / 1e6, end / 1e6, {
      source,
      origin: source === 'app' ? 'otlp' : source === 'sys' ? 'ebpf' : 'packet',
      observationPoint: op,
      name,
      kind: op.startsWith('c') ? 'client' : 'server',
      service: source === 'net' ? '' : service,
      statusCode,
      protocol,
      requestType: name.split(' ')[0] ?? '',
      requestResource: name.split(' ')[1] ?? '',
      responseStatus: 'ok',
      responseCode: 200,
      traceId: source === 'app' ? traceId : '',
      parentSpanId: parent?.spanId ?? '',
      linkReason: parent === null ? null : reason,
      confidence: parent === null ? null : reason === 'syscall' ? 0.9 : 1,
      clockOffsetNano,
      ipVersion: 4,
      clientIp: '10.0.0.1',
      serverIp: '10.0.0.2',
      clientPort: 40000 + (n % 20000),
      serverPort: 8080,
      transport: source === 'app' ? '' : 'tcp',
      reqTcpSeq: source === 'app' ? 0 : seq,
      respTcpSeq: source === 'app' ? 0 : seq + 1,
      hostId: `host-${service}`,
      processId: 100 + services.indexOf(service), // one process per service, as deployed
      processName: service,
      interfaceName: source === 'net' ? 'eth0' : '',
    });
    spans.push(s);
    return s;
  };
  /** One hop: six spans; returns the callee's s-app span and its time window. */
  const hop = (parent: ApiSpan | null, caller: string, callee: string, start: number, dur: number): { app: ApiSpan; start: number; end: number } => {
    const k = Math.floor(rand() * ops.length);
    const name = ops[k] as string;
    const protocol = protocols[k] as string;
    seq += 10;
    const d = dur;
    const cApp = make(parent, 'app', 'c-app', caller, name, start, start + d, parent === null ? null : 'span_id', protocol);
    const cP = make(cApp, 'sys', 'c-p', caller, name, start + d * 0.01, start + d * 0.99, 'span_id', protocol);
    const c = make(cP, 'net', 'c', caller, name, start + d * 0.02, start + d * 0.98, 'tcp_seq', protocol);
    const sNet = make(c, 'net', 's', callee, name, start + d * 0.03, start + d * 0.97, 'tcp_seq', protocol);
    const sP = make(sNet, 'sys', 's-p', callee, name, start + d * 0.04, start + d * 0.96, 'tcp_seq', protocol);
    const sApp = make(sP, 'app', 's-app', callee, name, start + d * 0.05, start + d * 0.95, 'span_id', protocol);
    return { app: sApp, start: start + d * 0.05, end: start + d * 0.95 };
  };
  // Breadth-first: each served request makes 1–6 calls, sequential or (sometimes) parallel.
  const queue: { app: ApiSpan; service: string; start: number; end: number }[] = [];
  const first = hop(null, 'client', services[0] as string, 0, 2_000_000_000);
  queue.push({ app: first.app, service: services[0] as string, start: first.start, end: first.end });
  while (spans.length + 6 <= size && queue.length > 0) {
    const req = queue.shift() as (typeof queue)[number];
    const calls = 1 + Math.floor(rand() * 6);
    const parallel = rand() < 0.3;
    const window = req.end - req.start;
    for (let c = 0; c < calls && spans.length + 6 <= size; c++) {
      const callee = services[Math.floor(rand() * services.length)] as string;
      const slot = parallel ? window * 0.9 : (window * 0.9) / calls;
      const start = req.start + window * 0.05 + (parallel ? rand() * window * 0.05 : c * slot);
      const dur = slot * (0.5 + rand() * 0.45);
      const h = hop(req.app, req.service, callee, start, dur);
      queue.push({ app: h.app, service: callee, start: h.start, end: h.end });
    }
  }
  // Fill to exactly `size` with leaf SYS calls (DNS lookups) under the last requests.
  let k = 0;
  while (spans.length < size) {
    const req = queue[k % Math.max(queue.length, 1)] ?? { app: spans[0] as ApiSpan, service: 'client', start: 0, end: 1 };
    const w = req.end - req.start;
    make(req.app, 'sys', 'c-p', req.service, 'A db.internal', req.start + w * 0.1, req.start + w * 0.15, 'syscall', 'dns');
    k++;
  }
  return { traceId, spans, services: [...new Set(spans.map((s) => s.service).filter((s) => s !== ''))].sort(), warnings: [] };
}

/**
 * `generatedTrace` as the SpanRecords a Weft server would receive for it: every hop's SYS and
 * NET spans carry the trace context of the call's client span (as traceparent in the captured
 * request does), tcp seqs are shared along the hop, times are unix ns from `t0`. So a real
 * `weft up` finds the whole trace by its id and assembles it by span ids and tcp seqs.
 */
export function generatedSpanRecords(size: number, t0: bigint): SpanRecord[] {
  const t = generatedTrace(size);
  const byId = new Map(t.spans.map((s) => [s.id, s]));
  const first = t.spans.reduce((m, s) => (BigInt(s.startTimeUnixNano) < m ? BigInt(s.startTimeUnixNano) : m), BigInt((t.spans[0] as ApiSpan).startTimeUnixNano));
  return t.spans.map((s, n) => {
    let traceContext: Pick<SpanRecord, 'traceId' | 'spanId' | 'parentSpanId'> = { traceId: t.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId };
    if (s.observationPoint === 's-app' && s.parentId !== null) {
      // The server's span names the caller's client span as its parent (the traceparent it
      // received), as the hop's SYS and NET spans carry it. Naming the s-p's generated id left
      // every served request unlinked with its process's concurrent requests as possible parents.
      let up: ApiSpan | undefined = byId.get(s.parentId);
      while (up !== undefined && up.observationPoint !== 'c-app') up = up.parentId === null ? undefined : byId.get(up.parentId);
      if (up !== undefined) traceContext = { ...traceContext, parentSpanId: up.spanId };
    }
    if (s.source !== 'app') {
      let up: ApiSpan | undefined = s;
      while (up !== undefined && up.observationPoint !== 'c-app' && up.observationPoint !== 's-app') up = up.parentId === null ? undefined : byId.get(up.parentId);
      if (up?.observationPoint === 'c-app') traceContext = { traceId: t.traceId, spanId: up.spanId, parentSpanId: up.parentSpanId };
      // A leaf call under a served request (the DNS lookups): its own id, that request's span as parent.
      else traceContext = { traceId: t.traceId, spanId: (0xd000000 + n).toString(16).padStart(16, '0'), parentSpanId: up?.spanId ?? '' };
    }
    const { id: _id, parentId: _p, linkReason: _l, confidence: _c, clockOffsetNano: _o, possibleParents: _pp, hop: _h, durationNano: _d, events: _e, startTimeUnixNano, endTimeUnixNano, ...fields } = s;
    return {
      ...emptySpan(s),
      ...fields,
      ...traceContext,
      startTimeUnixNano: t0 + (BigInt(startTimeUnixNano) - first),
      endTimeUnixNano: t0 + (BigInt(endTimeUnixNano) - first),
      events: [],
    };
  });
}

interface InPage {
  frames: number[];
  work: number[];
}

/** rAF-paced scrolling: `step` runs in each frame; returns intervals and work times. */
async function drive(page: Page, kind: 'weft-scroll' | 'weft-zoom' | 'dom-scroll' | 'dom-zoom'): Promise<InPage> {
  return page.evaluate(
    async ([mode, count]) => {
      const w = window as unknown as { __weftFrames?: number[]; __domWork?: number[]; __domZoom?: (f: number) => void };
      const scroller = document.querySelector<HTMLElement>('.flame-scroller');
      const canvas = document.querySelector<HTMLElement>('[data-testid=flame-canvas]');
      w.__weftFrames = [];
      w.__domWork = [];
      const frames: number[] = [];
      let last = performance.now();
      // A renderer that needs seconds per frame (the DOM reference at 100k spans) stops after a budget.
      const deadline = last + 30_000;
      for (let i = 0; i < (count as number) && performance.now() < deadline; i++) {
        if (mode === 'weft-scroll' && scroller) scroller.scrollTop += i < (count as number) / 2 ? 60 : -60;
        if (mode === 'weft-zoom' && canvas) {
          const r = canvas.getBoundingClientRect();
          canvas.dispatchEvent(new WheelEvent('wheel', { deltaY: i < (count as number) / 2 ? -60 : 60, ctrlKey: true, clientX: r.left + r.width * 0.4, clientY: r.top + 200, bubbles: true, cancelable: true }));
        }
        if (mode === 'dom-scroll') window.scrollBy(0, i < (count as number) / 2 ? 60 : -60);
        if (mode === 'dom-zoom') w.__domZoom?.(i < (count as number) / 2 ? 1.15 : 1 / 1.15);
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        frames.push(now - last);
        last = now;
      }
      // Let the last scheduled draw land.
      await new Promise((r) => requestAnimationFrame(r));
      return { frames: frames.slice(1), work: mode.startsWith('weft') ? (w.__weftFrames ?? []) : (w.__domWork ?? []) };
    },
    [kind, FRAMES] as const,
  );
}

/** Past this, a renderer counts as not having drawn at all (its row says so). */
const FIRST_DRAW_TIMEOUT_MS = 180_000;

interface OneDraw {
  drawMs: number;
  /** CPU time of the page's renderer main thread from navigation to first draw (CDP ThreadTime). */
  mainCpuMs: number;
  /** CPU time of the whole renderer process (main thread, compositor, raster: CDP ProcessTime). */
  rendererCpuMs: number;
  responseEndMs: number;
  ttfbMs: number;
  transferKB: number;
  bodyKB: number;
  serverTiming: string;
  serverCpuMs: number;
}

/** One navigation: the time of `mark` and the trace request's timings, ms from navigation start. */
/** CPU time (user + system, every thread) a process has used, ms (10 ms resolution); 0 when unknown. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_S);
  } catch {
    return 0;
  }
}
/** Linux's USER_HZ for /proc/<pid>/stat times. */
const CLOCK_TICKS_PER_S = 100;

async function firstDraw(page: Page, url: string, mark: string, serverPid?: number): Promise<OneDraw> {
  // The renderer's main-thread CPU time: what the page itself cost, which a busy machine delays
  // but does not inflate the way it inflates wall time (the main thread's ThreadTime; the
  // navigation gets a fresh renderer, whose counter starts near zero).
  const cdp = await page.context().newCDPSession(page);
  // ThreadTime counts from Performance.enable: enabled before the navigation.
  await cdp.send('Performance.enable');
  const cpu0 = processCpuMs(serverPid);
  await page.goto(url);
  await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, mark, { timeout: FIRST_DRAW_TIMEOUT_MS, polling: 50 });
  const serverCpuMs = serverPid === undefined ? 0 : processCpuMs(serverPid) - cpu0;
  const metrics = (await cdp.send('Performance.getMetrics')).metrics;
  const threadS = metrics.find((x) => x.name === 'ThreadTime')?.value ?? 0;
  const processS = metrics.find((x) => x.name === 'ProcessTime')?.value ?? 0;
  await cdp.detach();
  const timing = await page.evaluate((m) => {
    const api = performance.getEntriesByType('resource').find((r) => r.name.includes('/api/v1/traces/')) as PerformanceResourceTiming | undefined;
    return {
      drawMs: (performance.getEntriesByName(m)[0] as PerformanceEntry).startTime,
      responseEndMs: api?.responseEnd ?? 0,
      ttfbMs: api ? api.responseStart - api.requestStart : 0,
      transferKB: api ? api.encodedBodySize / 1024 : 0,
      bodyKB: api ? api.decodedBodySize / 1024 : 0,
      serverTiming: (api?.serverTiming ?? []).map((t) => `${t.name} ${Math.round(t.duration)}`).join(', '),
    };
  }, mark);
  return { ...timing, mainCpuMs: threadS * 1000, rendererCpuMs: processS * 1000, serverCpuMs };
}

const median = (xs: readonly number[]): number => percentile(xs, 50);

/** Pages per path, alternating path by path `repeats` times, so a load swing hits every path alike. */
async function measurePaths(
  browser: Awaited<ReturnType<typeof launchChromium>>['browser'],
  paths: readonly { path: PathName; url: string; mark: string }[],
  repeats: number,
): Promise<Map<PathName, OneDraw[]>> {
  const out = new Map<PathName, OneDraw[]>(paths.map((p) => [p.path, []]));
  for (let r = 0; r < repeats; r++) {
    for (const p of paths) {
      const page = await browser.newPage({ viewport: VIEWPORT });
      try {
        out.get(p.path)?.push(await firstDraw(page, p.url, p.mark));
      } catch {
        // No draw within the timeout: the row shows fewer runs.
      }
      await page.close();
    }
  }
  return out;
}

function rowsOf(server: FirstDrawRow['server'], spans: number, runs: Map<PathName, OneDraw[]>, log: (line: string) => void): FirstDrawRow[] {
  const rows: FirstDrawRow[] = [];
  const load = round(loadavg()[0] ?? 0);
  for (const [path, list] of runs) {
    if (list.length === 0) {
      log(`${server}, ${spans} spans, ${path}: no draw within ${FIRST_DRAW_TIMEOUT_MS / 1000} s`);
      continue;
    }
    const draw = median(list.map((d) => d.drawMs));
    const resp = median(list.map((d) => d.responseEndMs));
    const row: FirstDrawRow = {
      server,
      spans,
      path,
      firstDrawMs: round(draw),
      runsMs: list.map((d) => Math.round(d.drawMs)),
      responseEndMs: round(resp),
      ttfbMs: round(median(list.map((d) => d.ttfbMs))),
      uiWorkMs: round(median(list.map((d) => d.drawMs - d.responseEndMs))),
      mainCpuMs: round(median(list.map((d) => d.mainCpuMs))),
      rendererCpuMs: round(median(list.map((d) => d.rendererCpuMs))),
      transferKB: round(median(list.map((d) => d.transferKB))),
      bodyKB: round(median(list.map((d) => d.bodyKB))),
      serverTiming: list.map((d) => d.serverTiming).find((t) => t !== '') ?? '',
      serverCpuMs: round(median(list.map((d) => d.serverCpuMs))),
      loadAvg: load,
    };
    rows.push(row);
    log(
      `${server}, ${spans} spans, ${path}: first draw ${row.firstDrawMs.toFixed(0)} ms (runs ${row.runsMs.join(' / ')}); response end ${row.responseEndMs.toFixed(0)} ms, first byte after ${row.ttfbMs.toFixed(0)} ms` +
        `${row.serverTiming ? ` (server: ${row.serverTiming}${row.serverCpuMs > 0 ? `; server process CPU ${row.serverCpuMs.toFixed(0)} ms` : ''})` : ''}, UI work ${row.uiWorkMs.toFixed(0)} ms, main-thread CPU ${row.mainCpuMs.toFixed(0)} ms (renderer ${row.rendererCpuMs.toFixed(0)} ms); ${row.transferKB.toFixed(0)} KB on the wire, ${row.bodyKB.toFixed(0)} KB decoded; load ${load}`,
    );
  }
  const cols = rows.find((r) => r.path === 'columns');
  for (const ref of rows.filter((r) => r.path === 'json' || r.path === 'dom')) {
    if (cols) log(`${server}, ${spans} spans: first draw columns / ${ref.path} = ${(cols.firstDrawMs / ref.firstDrawMs).toFixed(3)}, UI work ${(cols.uiWorkMs / Math.max(ref.uiWorkMs, 0.001)).toFixed(3)}, main-thread CPU ${(cols.mainCpuMs / Math.max(ref.mainCpuMs, 0.001)).toFixed(3)}`);
  }
  return rows;
}

async function frameRow(page: Page, spans: number, renderer: FrameRow['renderer'], log: (line: string) => void): Promise<FrameRow> {
  await page.waitForTimeout(300);
  const scroll = await drive(page, renderer === 'weft-canvas' ? 'weft-scroll' : 'dom-scroll');
  const zoom = await drive(page, renderer === 'weft-canvas' ? 'weft-zoom' : 'dom-zoom');
  const row: FrameRow = { spans, renderer, loadAvg: round(loadavg()[0] ?? 0), scroll: stats(scroll.frames, scroll.work), zoom: stats(zoom.frames, zoom.work) };
  log(
    `${spans} spans, ${renderer}: scroll frames p50 ${row.scroll.frameP50Ms} / p95 ${row.scroll.frameP95Ms} ms (work p95 ${row.scroll.workP95Ms} ms); ` +
      `zoom frames p50 ${row.zoom.frameP50Ms} / p95 ${row.zoom.frameP95Ms} ms (work p95 ${row.zoom.workP95Ms} ms); load ${row.loadAvg}`,
  );
  return row;
}

/** The browser side alone: generated traces served pre-encoded, as the real routes encode them. */
async function inProcess(chromium: Awaited<ReturnType<typeof launchChromium>>, sizes: number[], repeats: number, domMax: number, log: (line: string) => void, result: UiBenchResult): Promise<void> {
  const json = new Map<string, string>();
  const columns = new Map<string, { plain: string }>();
  const ids = new Map<number, string>();
  for (const size of sizes) {
    const t = generatedTrace(size);
    ids.set(size, t.traceId);
    json.set(t.traceId, JSON.stringify({ ...t, spans: t.spans.map((sp) => compactItem(sp as unknown as Record<string, unknown>, CONTRACT_SPAN_FIELDS)) }));
    const plain = JSON.stringify(toTraceColumns(t, false));
    columns.set(t.traceId, { plain });
    log(`${size} spans: columns ${(plain.length / 1e6).toFixed(2)} MB (${(gzipSync(plain, { level: 1 }).length / 1e6).toFixed(2)} MB gzipped, what a remote browser gets), span-per-object compact JSON ${((json.get(t.traceId) ?? '').length / 1e6).toFixed(2)} MB`);
  }
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  await installWebUi(app, { ports: {}, tokenRequired: false });
  const notFound = { error: { code: 'TRC_QUERY_TRACE_NOT_FOUND', message: 'no such trace' } };
  app.get<{ Params: { id: string } }>('/api/v1/traces/:id', async (req, reply) => {
    const body = json.get(req.params.id);
    return body === undefined ? reply.code(404).send(notFound) : reply.type('application/json').send(body);
  });
  app.get<{ Params: { id: string } }>('/api/v1/traces/:id/columns', async (req, reply) => {
    const c = columns.get(req.params.id);
    if (c === undefined) return reply.code(404).send(notFound);
    // As the real route does for a client on loopback: plain (gzip would only cost CPU here).
    void reply.type('application/json').header('vary', 'accept-encoding');
    return reply.send(c.plain);
  });
  const domScript = readFileSync(join(ROOT, 'bench', 'ui-dom-reference.js'), 'utf8');
  app.get('/bench/dom/:id', async (_req, reply) => reply.type('text/html').send('<!doctype html><meta charset="utf-8"><title>DOM reference</title><body><script src="/bench/dom-reference.js"></script></body>'));
  app.get('/bench/dom-reference.js', async (_req, reply) => reply.type('text/javascript').send(domScript));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  try {
    // Warm-up: the browser's first navigation pays for process start-up; no path should.
    const warmId = ids.get(Math.min(...sizes)) as string;
    await measurePaths(chromium.browser, [{ path: 'columns', url: `${base}/trace/${warmId}`, mark: 'weft-first-draw' }, { path: 'json', url: `${base}/trace/${warmId}?via=json`, mark: 'weft-first-draw' }, { path: 'dom', url: `${base}/bench/dom/${warmId}`, mark: 'dom-first-draw' }], 1);
    for (const size of sizes) {
      const id = ids.get(size) as string;
      const paths: { path: PathName; url: string; mark: string }[] = [
        { path: 'columns', url: `${base}/trace/${id}`, mark: 'weft-first-draw' },
        { path: 'json', url: `${base}/trace/${id}?via=json`, mark: 'weft-first-draw' },
      ];
      if (size <= domMax) paths.push({ path: 'dom', url: `${base}/bench/dom/${id}`, mark: 'dom-first-draw' });
      result.firstDraw.push(...rowsOf('in-process', size, await measurePaths(chromium.browser, paths, repeats), log));
      // Frames: scrolling and zooming the columns page (the json path draws the same way).
      const page = await chromium.browser.newPage({ viewport: VIEWPORT });
      await firstDraw(page, `${base}/trace/${id}`, 'weft-first-draw');
      result.frames.push(await frameRow(page, size, 'weft-canvas', log));
      await page.close();
      if (size <= domMax) {
        const dom = await chromium.browser.newPage({ viewport: VIEWPORT });
        await firstDraw(dom, `${base}/bench/dom/${id}`, 'dom-first-draw');
        result.frames.push(await frameRow(dom, size, 'dom-reference', log));
        await dom.close();
      }
    }
  } finally {
    await app.close();
  }
}

/** `spans` as another trace: a fresh trace id, times moved by `shiftNano` (so no tcp seq meets its twin's). */
function asCopy(spans: readonly SpanRecord[], traceId: string, shiftNano: bigint): SpanRecord[] {
  return spans.map((s) => ({ ...s, traceId: s.traceId === '' ? '' : traceId, startTimeUnixNano: s.startTimeUnixNano + shiftNano, endTimeUnixNano: s.endTimeUnixNano + shiftNano }));
}

/** Waits until the server's store holds `spans` spans (ingest is acknowledged before they are durable). */
async function waitForStore(up: WeftUp, spans: number, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const text = await (await fetch(`${up.urls.query}/metrics`)).text();
    const stored = Number(/^weft_store_spans\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    if (stored >= spans) return;
    if (Date.now() > deadline) throw new Error(`weft up: ${stored} of ${spans} spans stored after 600 s`);
    log(`waiting for the store: ${stored} of ${spans} spans`);
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/**
 * The whole path: real `weft up` child processes, synthetic full-stack traces posted as OTLP and
 * stored, then navigation → first draw in Chromium, walk and assembly included. Each run opens
 * its own copy of the trace (the server keeps assembled traces for a moment: a copy opened
 * before would be answered from memory), first cold (the first open: the number that counts),
 * then once more (reopened: what the cache gives). With WEFT_BENCH_UI_REF (a checkout of the
 * previous commit, e.g. a `git worktree`), its server runs beside this one, same spans, runs
 * alternating.
 */
async function weftUp(chromium: Awaited<ReturnType<typeof launchChromium>>, sizes: number[], repeats: number, log: (line: string) => void, result: UiBenchResult): Promise<void> {
  if (sizes.length === 0) return;
  const ref = process.env.WEFT_BENCH_UI_REF;
  const servers: { server: FirstDrawRow['server']; up: WeftUp }[] = [];
  try {
    // The built server (dist/, what `npx weft up` runs; `npm run bench` builds it first), the
    // reference's too (compiled here when its checkout has no dist/).
    servers.push({ server: 'weft up', up: await startWeftUp({ built: true }) });
    if (ref !== undefined && ref !== '') {
      if (!existsSync(join(ref, 'dist', 'cli', 'main.js'))) {
        const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ref, 'tsconfig.build.json')], { encoding: 'utf8', cwd: ref });
        if (tsc.status !== 0) throw new Error(`building the reference checkout failed: ${tsc.stdout}${tsc.stderr}`);
      }
      servers.push({ server: 'weft up, previous commit', up: await startWeftUp({ root: ref, built: true }) });
    }
    const t0 = BigInt(Date.now() - 600_000) * 1_000_000n;
    const ids = new Map<number, string[]>();
    let total = 0;
    let k = 0;
    for (const size of sizes) {
      const base = generatedSpanRecords(size, t0);
      const list: string[] = [];
      for (let r = 0; r < repeats; r++) {
        const traceId = (0xb000000 + size * 16 + r).toString(16).padStart(32, '0');
        // 10 s apart: a trace lasts 2 s, and the walk's time windows are ms wide.
        const copy = asCopy(base, traceId, BigInt(k++) * 10_000_000_000n);
        for (const { up } of servers) await up.ingest(copy);
        total += copy.length;
        list.push(traceId);
      }
      ids.set(size, list);
      log(`weft up: ${size}-span trace posted ${repeats} times (${servers.length} server(s))`);
    }
    for (const { up } of servers) await waitForStore(up, total, log);
    for (const size of sizes) {
      const runs = new Map<string, { cold: OneDraw[]; warm: OneDraw[] }>(servers.map((x) => [x.server, { cold: [], warm: [] }]));
      for (const [r, id] of (ids.get(size) ?? []).entries()) {
        // Alternating server by server, so a load swing hits both alike.
        for (const { server, up } of r % 2 === 0 ? servers : [...servers].reverse()) {
          const at = runs.get(server) as { cold: OneDraw[]; warm: OneDraw[] };
          for (const kind of ['cold', 'warm'] as const) {
            const page = await chromium.browser.newPage({ viewport: VIEWPORT });
            try {
              at[kind].push(await firstDraw(page, `${up.urls.query}/trace/${id}`, 'weft-first-draw', up.child.pid));
            } catch {
              // No draw within the timeout: the row shows fewer runs.
            }
            await page.close();
          }
        }
      }
      const rows: FirstDrawRow[] = [];
      for (const { server } of servers) {
        const at = runs.get(server) as { cold: OneDraw[]; warm: OneDraw[] };
        rows.push(...rowsOf(server, size, new Map<PathName, OneDraw[]>([['columns', at.cold], ['columns, reopened', at.warm]]), log));
      }
      result.firstDraw.push(...rows);
      const now = rows.find((x) => x.server === 'weft up' && x.path === 'columns');
      const before = rows.find((x) => x.server === 'weft up, previous commit' && x.path === 'columns');
      if (now) {
        log(
          `FULL PATH ${size} spans (navigation → first draw, trace stored, through weft up): ${now.firstDrawMs.toFixed(0)} ms, server ${now.ttfbMs.toFixed(0)} ms to first byte (${now.serverTiming}), server CPU ${now.serverCpuMs.toFixed(0)} ms, page main-thread CPU ${now.mainCpuMs.toFixed(0)} ms (renderer ${now.rendererCpuMs.toFixed(0)} ms)` +
            (before
              ? `; previous commit ${before.firstDrawMs.toFixed(0)} ms, server ${before.ttfbMs.toFixed(0)} ms (${before.serverTiming}), server CPU ${before.serverCpuMs.toFixed(0)} ms, page main-thread CPU ${before.mainCpuMs.toFixed(0)} ms (renderer ${before.rendererCpuMs.toFixed(0)} ms); ratio ${(now.firstDrawMs / before.firstDrawMs).toFixed(3)}, server CPU ${(now.serverCpuMs / Math.max(before.serverCpuMs, 1)).toFixed(3)}`
              : '') +
            `; load ${now.loadAvg}`,
        );
      }
    }
  } finally {
    for (const { up } of servers) await up.close();
  }
}

export async function runUiBench(log: (line: string) => void): Promise<UiBenchResult> {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`UI build failed: ${built.stderr}`);
  const list = (v: string | undefined, dflt: string): number[] => (v ?? dflt).split(',').filter((x) => x.trim() !== '').map((x) => Number(x.trim()));
  const sizes = list(process.env.WEFT_BENCH_UI_SIZES, '1000,10000,100000');
  const upSizes = list(process.env.WEFT_BENCH_UI_UP_SIZES, '1000,10000,100000');
  const repeats = Number(process.env.WEFT_BENCH_UI_REPEATS ?? 3);
  const domMax = Number(process.env.WEFT_BENCH_UI_DOM_MAX ?? 10_000);
  const result: UiBenchResult = { firstDraw: [], frames: [] };
  const chromium = await launchChromium();
  try {
    if (sizes.length > 0) await inProcess(chromium, sizes, repeats, domMax, log, result);
    await weftUp(chromium, upSizes, repeats, log, result);
  } finally {
    await chromium.close();
  }
  return result;
}
