/**
 * The web UI in a real browser (Debian's Chromium through playwright-core) against a real
 * `weft up` child process (weft-up.ts: the CLI entry, DuckDB in a temporary data directory,
 * ports 0) holding recorded real spans: three `weft demo` traces with APP, SYS and NET spans
 * (test/fixtures/demo-traces.md) posted to its OTLP/HTTP port, plus hostile spans posted as OTLP
 * JSON as any SDK could. Checks what a person sees: bars drawn on the canvas in the three source
 * colours, the link reason in words, deep links, the token prompt, and that captured markup stays
 * text. Screenshots go to test-artifacts/ui/ (search.png, trace.png, trace-sys-span.png,
 * hostile.png, token-prompt.png).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../src/model/index.js';
import { CLOCK_COLOR, SOURCE_COLORS } from '../../src/ui/app/flamegraph/palette.js';
import { clockSkew } from '../../src/server/tracing/testdata/scenarios.js';
import { DEMO_TRACE_IDS, demoSpans } from '../fixtures/recorded-spans.js';
import { skywalkingTraceIdToHex } from '../../src/apm/skywalking/index.js';
import { SHARED_APM_FIXTURES } from '../../src/apm/testing/shared-fixtures.js';
import { launchChromium } from './browser.js';
import { startWeftUp, waitForTrace } from './weft-up.js';
import type { WeftUp } from './weft-up.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const ARTIFACTS = join(ROOT, 'test-artifacts', 'ui');
const HOSTILE_IMG = '<img src=x onerror=alert(1)>';
const HOSTILE_SCRIPT = '</script><script>alert(2)</script>';
const HOSTILE_SERVICE = '"><svg onload=alert(3)>';
const HOSTILE_TRACE = randomBytes(16).toString('hex');
const VIEWPORT = { width: 1500, height: 900 };
/** Real nginx-lua agent segments (shared fixtures, PROVENANCE.md) and the trace id its log prints. */
const SW_SEGMENTS = readFileSync(join(SHARED_APM_FIXTURES, 'skywalking', 'v3-segments-nginx-lua-readme-debuglog.json'), 'utf8');
const SW_TRACE_ID = '1585984546953.410917649.45972';

let weft: WeftUp;
let chromium: { browser: Browser; close: () => Promise<void> };

/** OTLP/JSON with hostile names, attributes and service, as any SDK could send it. */
function hostileOtlp(): unknown {
  const now = BigInt(Date.now()) * 1_000_000n;
  const rootId = randomBytes(8).toString('hex');
  const childId = randomBytes(8).toString('hex');
  const attr = (key: string, v: string): unknown => ({ key, value: { stringValue: v } });
  return {
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', HOSTILE_SERVICE)] },
        scopeSpans: [
          {
            scope: { name: 'hostile-test' },
            spans: [
              {
                traceId: HOSTILE_TRACE,
                spanId: rootId,
                name: HOSTILE_IMG,
                kind: 2,
                startTimeUnixNano: (now - 50_000_000n).toString(),
                endTimeUnixNano: now.toString(),
                attributes: [attr('http.url', 'javascript:alert(4)'), attr('http.route', HOSTILE_SCRIPT), attr('<b>key</b>', '<iframe src=//x>')],
                status: { code: 2, message: HOSTILE_SCRIPT },
              },
              {
                traceId: HOSTILE_TRACE,
                spanId: childId,
                parentSpanId: rootId,
                name: HOSTILE_SCRIPT,
                kind: 3,
                startTimeUnixNano: (now - 40_000_000n).toString(),
                endTimeUnixNano: (now - 10_000_000n).toString(),
                attributes: [attr('db.statement', `SELECT '${HOSTILE_IMG}'`)],
              },
            ],
          },
        ],
      },
    ],
  };
}

/** Counts canvas pixels in each source's colours (the bars really drawn, not the DOM). */
async function sourcePixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate((colors: Record<string, readonly string[]>) => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=flame-canvas]');
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return {};
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const want = new Map<number, string>();
    for (const [src, list] of Object.entries(colors)) {
      for (const hex of list) want.set(parseInt(hex.slice(1), 16), src);
    }
    const out: Record<string, number> = { app: 0, sys: 0, net: 0 };
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] !== 255) continue;
      const src = want.get(((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0));
      if (src !== undefined) out[src] = (out[src] ?? 0) + 1;
    }
    return out;
  }, SOURCE_COLORS as unknown as Record<string, readonly string[]>);
}

/** A canvas point (CSS px) on a bar of the given source, below the root row. */
async function pointOnSource(page: Page, source: 'app' | 'sys' | 'net', minY: number): Promise<{ x: number; y: number }> {
  const p = await page.evaluate(
    ([colors, minYpx]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=flame-canvas]');
      const ctx = canvas?.getContext('2d');
      if (!canvas || !ctx) return null;
      const dpr = canvas.width / canvas.clientWidth;
      const { data, width, height } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const want = new Set((colors as string[]).map((h) => parseInt(h.slice(1), 16)));
      for (let y = Math.ceil((minYpx as number) * dpr); y < height; y += 2) {
        for (let x = 40; x < width; x += 3) {
          const i = (y * width + x) * 4;
          if (want.has(((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0))) return { x: x / dpr + 20, y: y / dpr + 3 };
        }
      }
      return null;
    },
    [SOURCE_COLORS[source] as unknown as string[], minY] as const,
  );
  if (p === null) throw new Error(`no ${source} bar found on the canvas`);
  return p;
}

async function newPage(): Promise<{ page: Page; alerts: () => Promise<string[]>; consoleErrors: string[] }> {
  const page = await chromium.browser.newPage({ viewport: VIEWPORT });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    consoleErrors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  // Any script that runs alert() is caught here, before the page's own code.
  await page.addInitScript(() => {
    const w = window as unknown as { __alerts: string[] };
    w.__alerts = [];
    window.alert = (m?: unknown) => void w.__alerts.push(String(m));
  });
  return { page, alerts: () => page.evaluate(() => (window as unknown as { __alerts: string[] }).__alerts), consoleErrors };
}

beforeAll(async () => {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`UI build failed: ${built.stderr}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  weft = await startWeftUp();
  await weft.ingest(demoSpans());
  const res = await fetch(`${weft.urls.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hostileOtlp()) });
  expect(res.status).toBe(200);
  // A SYS span of the hostile trace, as the agent would record it (header trace id).
  const sys: SpanRecord = { ...(demoSpans().find((s) => s.source === 'sys' && s.observationPoint === 's-p') as SpanRecord) };
  const now = BigInt(Date.now()) * 1_000_000n;
  await weft.ingest([{ ...sys, traceId: HOSTILE_TRACE, spanId: randomBytes(8).toString('hex'), parentSpanId: '', requestResource: HOSTILE_IMG, name: HOSTILE_SCRIPT, service: HOSTILE_SERVICE, processName: HOSTILE_IMG, startTimeUnixNano: now - 45_000_000n, endTimeUnixNano: now - 5_000_000n, reqTcpSeq: 0, respTcpSeq: 0, syscallTraceIdReq: 0, syscallTraceIdResp: 0 }]);
  await waitForTrace(weft.urls.query, DEMO_TRACE_IDS[0], 26);
  await waitForTrace(weft.urls.query, HOSTILE_TRACE, 3);
  chromium = await launchChromium();
}, 180_000);

afterAll(async () => {
  await chromium?.close();
  await weft?.close();
});

describe('web UI in Chromium', () => {
  it('search → a result → the flame graph shows APP, SYS and NET bars', async () => {
    const { page, consoleErrors } = await newPage();
    await page.goto(`${weft.urls.query}/`);
    await page.selectOption('select[name=lookback]', 'all');
    await page.click('[data-testid=search-submit]');
    const row = page.locator(`tr.result[data-trace-id="${DEMO_TRACE_IDS[0]}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect(row.locator('[data-source=app]').textContent()).resolves.toBe('APP 2');
    await expect(row.locator('[data-source=sys]').textContent()).resolves.toBe('SYS 16');
    await expect(row.locator('[data-source=net]').textContent()).resolves.toBe('NET 8');
    expect(await page.locator('[data-testid=latency-scatter]').isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'search.png') });
    await row.locator('[data-testid=result-link]').click();
    await page.waitForURL(`**/trace/${DEMO_TRACE_IDS[0]}`);
    await page.locator('[data-testid=trace-title]').waitFor();
    await page.waitForTimeout(300); // one animation frame draws; a few are plenty
    const px = await sourcePixels(page);
    expect(px.app, 'APP bars drawn').toBeGreaterThan(500);
    expect(px.sys, 'SYS bars drawn').toBeGreaterThan(500);
    expect(px.net, 'NET bars drawn').toBeGreaterThan(500);
    await expect(page.locator('.legend [data-source=sys]').textContent()).resolves.toContain('SYS');
    await page.screenshot({ path: join(ARTIFACTS, 'trace.png') });
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('clicking a SYS span shows its link reason in words; a deep link reopens the same view', async () => {
    const { page, consoleErrors } = await newPage();
    await page.goto(`${weft.urls.query}/trace/${DEMO_TRACE_IDS[0]}`);
    await page.locator('[data-testid=flame-canvas]').waitFor();
    await page.waitForTimeout(300);
    const box = await page.locator('[data-testid=flame-canvas]').boundingBox();
    if (box === null) throw new Error('no canvas');
    // Below the axis and the root row (the root has no parent to explain).
    const at = await pointOnSource(page, 'sys', 22 + 20 * 2);
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await expect(page.locator('[data-testid=details-source]').textContent()).resolves.toMatch(/^SYS /);
    const why = (await page.locator('[data-testid=link-explanation]').textContent()) ?? '';
    expect(why).toMatch(/^Under .+ because /);
    expect(why).toMatch(/the same bytes \(tcp seq \d+\) (were read here|were written here)|made on the thread|same X-Request-ID|carried that span's id/);
    await expect(page.locator('[data-testid=confidence]').textContent()).resolves.toMatch(/certain|likely|plausible|guess/);
    await page.screenshot({ path: join(ARTIFACTS, 'trace-sys-span.png') });
    // Zoom in with the keyboard; the URL takes the span and the window.
    await page.locator('.flame-scroller').focus();
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    await page.waitForFunction(() => /[?&]from=/.test(location.search) && /[?&]span=/.test(location.search));
    const link = page.url();
    const name = await page.locator('[data-testid=details-name]').textContent();
    const params = new URL(link).searchParams;
    const { page: again } = await newPage();
    await again.goto(link);
    await again.locator('[data-testid=span-details]').waitFor();
    await expect(again.locator('[data-testid=details-name]').textContent()).resolves.toBe(name);
    await expect(again.locator('[data-testid=link-explanation]').textContent()).resolves.toBe(why);
    await again.waitForTimeout(500);
    const reopened = new URL(again.url()).searchParams;
    expect(reopened.get('span')).toBe(params.get('span'));
    expect(Number(reopened.get('from'))).toBeCloseTo(Number(params.get('from')), 3);
    expect(Number(reopened.get('to'))).toBeCloseTo(Number(params.get('to')), 3);
    expect(consoleErrors).toEqual([]);
    await page.close();
    await again.close();
  });

  it('brushing the latency scatter narrows the search to the dots inside', async () => {
    const { page, consoleErrors } = await newPage();
    await page.goto(`${weft.urls.query}/?lookback=all`);
    await page.locator(`tr.result[data-trace-id="${HOSTILE_TRACE}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('tr.result').count()).toBe(4);
    const box = await page.locator('[data-testid=latency-scatter]').boundingBox();
    if (box === null) throw new Error('no scatter');
    // The three demo traces were recorded hours before the hostile one: the left half holds them.
    await page.mouse.move(box.x + 30, box.y + 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height - 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => /[?&]minDuration=/.test(location.search) && /[?&]start=\d+/.test(location.search));
    await page.locator('[data-testid=results], [data-testid=no-results], [data-testid=search-error]').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'search-brushed.png') });
    // The list is rebuilt by the new search: wait for its answer, not for the old rows to go.
    await page.waitForFunction(() => document.querySelectorAll('tr.result').length === 3, null, { timeout: 15_000 });
    expect(await page.locator(`tr.result[data-trace-id="${HOSTILE_TRACE}"]`).count()).toBe(0);
    for (const id of DEMO_TRACE_IDS) expect(await page.locator(`tr.result[data-trace-id="${id}"]`).count()).toBe(1);
    await expect(page.locator('select[name=lookback]').inputValue()).resolves.toBe('custom');
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('in-trace tools: find, collapse, zoom to a span, services with self time, warnings, copy buttons', async () => {
    const { page, consoleErrors } = await newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.goto(`${weft.urls.query}/trace/${DEMO_TRACE_IDS[0]}`);
    await page.locator('[data-testid=trace-title]').waitFor();
    // The trace came as columns (the UI's format), not the span-per-object answer.
    const fetched = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name).filter((n) => n.includes('/api/v1/traces/')));
    expect(fetched).toEqual([expect.stringMatching(/\/api\/v1\/traces\/[0-9a-f]{32}\/columns$/)]);
    // Services panel: one row per service with its self time.
    const services = page.locator('.services tbody tr');
    expect(await services.count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('.services').textContent()).toMatch(/nginx[\s\S]*(µs|ms)/);
    // Warnings tab lists what the assembly said.
    await page.getByRole('tab', { name: /warnings/ }).click();
    expect(await page.locator('ul.warnings li').count()).toBeGreaterThanOrEqual(1);
    // Find within the trace: matches counted, Enter selects the first.
    await page.fill('[data-testid=trace-find]', 'redis');
    await expect(page.locator('[data-testid=find-count]').textContent()).resolves.toMatch(/^[1-9]\d* match/);
    await page.press('[data-testid=trace-find]', 'Enter');
    await page.locator('[data-testid=span-details]').waitFor();
    expect(await page.locator('[data-testid=span-details]').textContent()).toMatch(/redis/i);
    // Select the root: collapse hides its subtree, expand brings it back.
    await page.fill('[data-testid=trace-find]', 'curl');
    await page.press('[data-testid=trace-find]', 'Enter');
    await page.getByRole('button', { name: /^collapse \(\d+\)$/ }).click();
    await page.getByRole('button', { name: /^expand \(\d+\)$/ }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'trace-collapsed.png') });
    await page.getByRole('button', { name: /^expand \(\d+\)$/ }).click();
    // Zoom to a span writes the window into the URL.
    await page.fill('[data-testid=trace-find]', 'redis');
    await page.press('[data-testid=trace-find]', 'Enter');
    await page.getByRole('button', { name: 'zoom to span' }).click();
    await page.waitForFunction(() => /[?&]from=/.test(location.search) && /[?&]to=/.test(location.search));
    // Copy buttons put the ids on the clipboard.
    await page.getByRole('button', { name: 'copy span id' }).click();
    await page.getByRole('button', { name: 'copied' }).waitFor();
    const spanId = await page.evaluate(() => navigator.clipboard.readText());
    expect(await page.locator('[data-testid=correlation-keys]').textContent()).toContain(spanId);
    await page.screenshot({ path: join(ARTIFACTS, 'trace-zoomed.png') });
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('captured markup is shown as text and nothing executes', async () => {
    const { page, alerts, consoleErrors } = await newPage();
    await page.goto(`${weft.urls.query}/?lookback=all`);
    const row = page.locator(`tr.result[data-trace-id="${HOSTILE_TRACE}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('[data-testid=result-link]').textContent()).toContain(HOSTILE_SERVICE);
    await row.locator('[data-testid=result-link]').click();
    await page.locator('[data-testid=trace-title]').waitFor();
    expect(await page.locator('[data-testid=trace-title]').textContent()).toContain(HOSTILE_IMG);
    for (const needle of ['img src', 'script>alert']) {
      await page.fill('[data-testid=trace-find]', needle);
      await page.waitForTimeout(250);
      await page.press('[data-testid=trace-find]', 'Enter');
      await page.locator('[data-testid=span-details]').waitFor();
      const shown = await page.locator('[data-testid=details-name]').textContent();
      expect([HOSTILE_IMG, HOSTILE_SCRIPT]).toContain(shown);
      expect(await page.locator('[data-testid=all-fields]').textContent()).toContain(shown);
    }
    await page.hover('[data-testid=flame-canvas]', { position: { x: 200, y: 31 } });
    await page.screenshot({ path: join(ARTIFACTS, 'hostile.png') });
    // No element came from the captured strings, no script ran.
    expect(await page.locator('img[src=x], svg[onload], iframe').count()).toBe(0);
    expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(1);
    expect(await alerts()).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});

/** Canvas pixels in `hex` (the clock-correction marks are the only thing drawn in theirs). */
async function pixelsOf(page: Page, hex: string): Promise<number> {
  return page.evaluate((want: number) => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=flame-canvas]');
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return 0;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] === 255 && (((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0)) === want) n++;
    return n;
  }, parseInt(hex.slice(1), 16));
}

describe('web UI: clock corrections', () => {
  it('spans assembly moved to fit inside their parent say so, on the bar and in the details; the others do not', async () => {
    // The golden clock-skew scenario (host 2 runs 30 ms behind host 1: the server seems to answer
    // before the client asked), on hosts of its own, ids as hex, moved to a minute ago.
    const skew = clockSkew();
    const first = skew.reduce((m, x) => (x.startTimeUnixNano < m ? x.startTimeUnixNano : m), (skew[0] as SpanRecord).startTimeUnixNano);
    const shift = BigInt(Date.now() - 60_000) * 1_000_000n - first;
    const hex = (id: string): string => id.replace(/^k/, 'c');
    await weft.ingest(
      skew.map((x) => ({ ...x, spanId: hex(x.spanId), hostId: `clock-${x.hostId}`, startTimeUnixNano: x.startTimeUnixNano + shift, endTimeUnixNano: x.endTimeUnixNano + shift })),
    );
    const client = hex('k000000000000001');
    const server = hex('k000000000000002');
    await waitForTrace(weft.urls.query, client, 3);
    const { page, consoleErrors } = await newPage();
    await page.goto(`${weft.urls.query}/trace/${client}?span=${server}`);
    await page.locator('[data-testid=span-details]').waitFor();
    await expect(page.locator('[data-testid=details-name]').textContent()).resolves.toBe('server s-p');
    const note = (await page.locator('[data-testid=clock-note]').textContent()) ?? '';
    expect(note).toMatch(/^Clock corrected: shown \+?29(\.0+)? ?ms (later )?from where host clock-h2 recorded it, so it fits inside its parent\.$/);
    await page.waitForTimeout(300);
    // The two moved bars carry the mark; the client's bar does not, and its details say nothing.
    expect(await pixelsOf(page, CLOCK_COLOR)).toBeGreaterThan(8);
    await page.screenshot({ path: join(ARTIFACTS, 'trace-clock-corrected.png') });
    await page.goto(`${weft.urls.query}/trace/${client}?span=${client}`);
    await page.locator('[data-testid=span-details]').waitFor();
    await expect(page.locator('[data-testid=details-name]').textContent()).resolves.toBe('client c-p');
    await expect(page.locator('[data-testid=clock-note]').count()).resolves.toBe(0);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});

describe('web UI: ids pasted into the open box', () => {
  it('a span id opens its trace with that span selected; a SkyWalking trace id opens its trace', async () => {
    const sw = await fetch(`${weft.urls.skywalkingHttp}/v3/segments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SW_SEGMENTS });
    expect(sw.status).toBe(200);
    const { page, consoleErrors } = await newPage();
    await page.goto(`${weft.urls.query}/`);
    const sysSpan = demoSpans().find((s) => s.traceId === DEMO_TRACE_IDS[2] && s.source === 'sys' && s.spanId !== '' && s.observationPoint === 's-p') as SpanRecord;
    await page.fill('[data-testid=open-id]', `  ${sysSpan.spanId} `);
    await page.click('[data-testid=open-id-submit]');
    await page.locator('[data-testid=span-details]').waitFor();
    expect(await page.locator('[data-testid=correlation-keys]').textContent()).toContain(sysSpan.spanId);
    expect(await page.locator('[data-testid=trace-title]').textContent()).toContain('GET /checkout');
    // The nginx-lua agent's trace id as its debug log prints it.
    const deadline = Date.now() + 15_000;
    for (;;) {
      await page.fill('[data-testid=open-id]', SW_TRACE_ID);
      await page.click('[data-testid=open-id-submit]');
      await page.locator('[data-testid=trace-title], [data-testid=trace-error]').first().waitFor();
      if ((await page.locator('[data-testid=trace-title]').count()) > 0 || Date.now() > deadline) break;
      await page.waitForTimeout(500); // the segments may not be stored yet
    }
    await page.locator('[data-testid=trace-title]').waitFor();
    // The address bar then names the trace by the id Weft stores it under.
    expect(new URL(page.url()).pathname).toBe(`/trace/${skywalkingTraceIdToHex(SW_TRACE_ID)}`);
    await page.getByRole('tab', { name: 'services' }).click();
    expect(await page.locator('.services tbody tr').count()).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: join(ARTIFACTS, 'trace-skywalking-id.png') });
    // Only the first lookback (segments not stored yet) may have logged a 404.
    expect(consoleErrors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await page.close();
  });
});

describe('web UI with --token', () => {
  let secured: WeftUp;
  const token = `t-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    secured = await startWeftUp({ token });
    await secured.ingest(demoSpans());
    await waitForTrace(secured.urls.query, DEMO_TRACE_IDS[1], 1, { authorization: `Bearer ${token}` });
  }, 180_000);
  afterAll(async () => {
    await secured?.close();
  });

  it('the shell is open, the data is not; the page asks once and then works', async () => {
    const shell = await fetch(`${secured.urls.query}/trace/${DEMO_TRACE_IDS[1]}`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${secured.urls.query}/api/v1/traces?limit=1`)).status).toBe(401);
    const { page, consoleErrors } = await newPage();
    page.on('console', () => undefined);
    await page.goto(`${secured.urls.query}/?lookback=all`);
    await page.locator('[data-testid=token-prompt]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'token-prompt.png') });
    await page.fill('[data-testid=token-input]', 'wrong');
    await page.click('[data-testid=token-submit]');
    await page.locator('[data-testid=token-wrong]').waitFor();
    await page.fill('[data-testid=token-input]', token);
    await page.click('[data-testid=token-submit]');
    await page.locator(`tr.result[data-trace-id="${DEMO_TRACE_IDS[1]}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid=token-prompt]').count()).toBe(0);
    // Kept for the session: a deep link in the same tab opens without asking again.
    await page.goto(`${secured.urls.query}/trace/${DEMO_TRACE_IDS[1]}`);
    await page.locator('[data-testid=trace-title]').waitFor();
    expect(await page.locator('[data-testid=token-prompt]').count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.getItem('weft.token'))).toBe(token);
    // The browser logs each refused request (401) as a console error; nothing else may appear.
    expect(consoleErrors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await page.close();
  });
});
