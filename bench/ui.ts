/**
 * @module UI benchmark (`npm run bench -- ui`): generated full-stack traces of 1k, 10k and 100k
 * spans opened in Debian's Chromium. For each: time to first draw (navigation start → the flame
 * graph's first canvas draw, including fetch, JSON parse, model and layout), then frame times
 * while scrolling (120 frames) and while zooming with Ctrl+wheel (120 frames): the interval
 * between animation frames (what a person sees; 16.7 ms is 60 fps) and the draw time itself.
 *
 * Reference, side by side in the same browser: a plain DOM timeline of the same trace (one row
 * of elements per span, the approach of list-based trace views), built by bench/ui-dom-reference.js:
 * its time to first paint and its frame times for the same scroll and zoom.
 *
 * The traces are served as `/api/v1/traces/{id}` JSON by a small Fastify server with the real UI
 * routes, not by a Weft store: the server's trace walk stops at 20,000 spans, and this measures
 * the browser side alone.
 *
 * Env: WEFT_BENCH_UI_SIZES (default 1000,10000,100000), WEFT_CHROMIUM (default /usr/bin/chromium).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { Page } from 'playwright-core';
import type { ApiSpan, ApiTrace } from '../src/server/query/index.js';
import { compactItem } from '../src/server/query/json-stream.js';
import { apiSpan } from '../src/ui/app/trace/trace-fixture.js';
import { installWebUi } from '../src/ui/ui-server.js';
import { launchChromium } from '../test/ui/browser.js';

const ROOT = new URL('../', import.meta.url).pathname;
/** The span fields a compact answer keeps (the contract's; weft-api.ts has the same list). */
const CONTRACT_SPAN_FIELDS: ReadonlySet<string> = new Set(['id', 'parentId', 'source', 'observationPoint', 'name', 'service', 'startTimeUnixNano', 'endTimeUnixNano', 'protocol', 'traceId', 'spanId', 'parentSpanId', 'linkReason']);
const FRAMES = 120;
const VIEWPORT = { width: 1500, height: 900 };

export interface UiBenchRow {
  spans: number;
  renderer: 'weft-canvas' | 'dom-reference';
  firstDrawMs: number;
  /** Navigation start → the trace JSON fully received (page load, request, transfer). */
  responseEndMs: number;
  /** Trace JSON received → first draw: parse, model, layout, render, draw (the UI's own work). */
  uiWorkMs: number;
  jsonMB: number;
  /** 1-minute load average when the row was measured (2 cores here). */
  loadAvg: number;
  scroll: FrameStats;
  zoom: FrameStats;
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

/** A deterministic PRNG (mulberry32), so every run draws the same traces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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
      processId: 100 + (n % 50),
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

/** Time of `mark` and of the trace response's last byte, ms from navigation start. */
async function firstDraw(page: Page, url: string, mark: string): Promise<{ drawMs: number; responseEndMs: number }> {
  await page.goto(url);
  await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, mark, { timeout: FIRST_DRAW_TIMEOUT_MS, polling: 100 });
  return page.evaluate((m) => {
    const api = performance.getEntriesByType('resource').find((r) => r.name.includes('/api/v1/traces/')) as PerformanceResourceTiming | undefined;
    return { drawMs: (performance.getEntriesByName(m)[0] as PerformanceEntry).startTime, responseEndMs: api?.responseEnd ?? 0 };
  }, mark);
}

export async function runUiBench(log: (line: string) => void): Promise<UiBenchRow[]> {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`UI build failed: ${built.stderr}`);
  const sizes = (process.env.WEFT_BENCH_UI_SIZES ?? '1000,10000,100000').split(',').map((s) => Number(s.trim()));
  // What the server answers with ?compact=true (the UI and the reference both ask for it).
  const traces = new Map<string, string>();
  for (const size of sizes) {
    const t = generatedTrace(size);
    traces.set(t.traceId, JSON.stringify({ ...t, spans: t.spans.map((sp) => compactItem(sp as unknown as Record<string, unknown>, CONTRACT_SPAN_FIELDS)) }));
  }
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  await installWebUi(app, { ports: {}, tokenRequired: false });
  app.get<{ Params: { id: string } }>('/api/v1/traces/:id', async (req, reply) => {
    const body = traces.get(req.params.id);
    if (body === undefined) return reply.code(404).send({ error: { code: 'TRC_QUERY_TRACE_NOT_FOUND', message: 'no such trace' } });
    return reply.type('application/json').send(body);
  });
  const domScript = readFileSync(join(ROOT, 'bench', 'ui-dom-reference.js'), 'utf8');
  app.get('/bench/dom/:id', async (_req, reply) => reply.type('text/html').send('<!doctype html><meta charset="utf-8"><title>DOM reference</title><body><script src="/bench/dom-reference.js"></script></body>'));
  app.get('/bench/dom-reference.js', async (_req, reply) => reply.type('text/javascript').send(domScript));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  const chromium = await launchChromium();
  const rows: UiBenchRow[] = [];
  try {
    // Warm-up: the browser's first navigation pays for process start-up; neither renderer should.
    const warmId = generatedTrace(Math.min(...sizes)).traceId;
    for (const [path, mark] of [[`/trace/${warmId}`, 'weft-first-draw'], [`/bench/dom/${warmId}`, 'dom-first-draw']] as const) {
      const warm = await chromium.browser.newPage({ viewport: VIEWPORT });
      await firstDraw(warm, `${base}${path}`, mark);
      await warm.close();
    }
    for (const size of sizes) {
      const id = generatedTrace(size).traceId;
      const page = await chromium.browser.newPage({ viewport: VIEWPORT });
      const jsonMB = round((traces.get(id)?.length ?? 0) / 1e6);
      const wf = await firstDraw(page, `${base}/trace/${id}`, 'weft-first-draw');
      const weftFirst = wf.drawMs;
      await page.waitForTimeout(300);
      const ws = await drive(page, 'weft-scroll');
      const wz = await drive(page, 'weft-zoom');
      const load = round(loadavg()[0] ?? 0);
      rows.push({ spans: size, renderer: 'weft-canvas', firstDrawMs: round(weftFirst), responseEndMs: round(wf.responseEndMs), uiWorkMs: round(weftFirst - wf.responseEndMs), jsonMB, loadAvg: load, scroll: stats(ws.frames, ws.work), zoom: stats(wz.frames, wz.work) });
      log(`${size} spans (${jsonMB} MB JSON, load ${load}), weft canvas: first draw ${weftFirst.toFixed(0)} ms (response in ${wf.responseEndMs.toFixed(0)} ms, then the UI's work ${(weftFirst - wf.responseEndMs).toFixed(0)} ms); scroll frames p50 ${percentile(ws.frames, 50).toFixed(1)} / p95 ${percentile(ws.frames, 95).toFixed(1)} ms (draw p95 ${percentile(ws.work, 95).toFixed(2)} ms); zoom frames p50 ${percentile(wz.frames, 50).toFixed(1)} / p95 ${percentile(wz.frames, 95).toFixed(1)} ms (draw p95 ${percentile(wz.work, 95).toFixed(2)} ms)`);
      await page.close();

      const dom = await chromium.browser.newPage({ viewport: VIEWPORT });
      let df: { drawMs: number; responseEndMs: number };
      try {
        df = await firstDraw(dom, `${base}/bench/dom/${id}`, 'dom-first-draw');
      } catch {
        log(`${size} spans, DOM reference: no paint within ${FIRST_DRAW_TIMEOUT_MS / 1000} s`);
        await dom.close();
        continue;
      }
      const domFirst = df.drawMs;
      await dom.waitForTimeout(300);
      const ds = await drive(dom, 'dom-scroll');
      const dz = await drive(dom, 'dom-zoom');
      rows.push({ spans: size, renderer: 'dom-reference', firstDrawMs: round(domFirst), responseEndMs: round(df.responseEndMs), uiWorkMs: round(domFirst - df.responseEndMs), jsonMB, loadAvg: round(loadavg()[0] ?? 0), scroll: stats(ds.frames, ds.work), zoom: stats(dz.frames, dz.work) });
      log(`${size} spans, DOM reference: first paint ${domFirst.toFixed(0)} ms (response in ${df.responseEndMs.toFixed(0)} ms, then ${(domFirst - df.responseEndMs).toFixed(0)} ms); scroll frames p50 ${percentile(ds.frames, 50).toFixed(1)} / p95 ${percentile(ds.frames, 95).toFixed(1)} ms; zoom frames p50 ${percentile(dz.frames, 50).toFixed(1)} / p95 ${percentile(dz.frames, 95).toFixed(1)} ms (update p95 ${percentile(dz.work, 95).toFixed(1)} ms)`);
      log(`${size} spans: first draw ratio weft/DOM ${(weftFirst / domFirst).toFixed(3)}, UI work after the response ${((weftFirst - wf.responseEndMs) / Math.max(domFirst - df.responseEndMs, 0.001)).toFixed(3)}, zoom frame p95 ratio ${(percentile(wz.frames, 95) / Math.max(percentile(dz.frames, 95), 0.001)).toFixed(3)}`);
      await dom.close();
    }
  } finally {
    await chromium.close();
    await app.close();
  }
  return rows;
}
