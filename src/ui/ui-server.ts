/**
 * @module Serves the web UI on the query port: the page shell at `/` and `/trace/{id}` (deep
 * links), and the bundle that scripts/build-ui.mjs built into dist/ui-bundle under `/ui/`.
 *
 * The shell holds no data, so it stays open with `--token` (the page asks for the token and
 * sends it to the API). Everything is same-origin and static: a strict Content-Security-Policy
 * allows scripts and styles from this origin only, no inline script or style element, no eval,
 * no framing, so even a missed escape in captured data could not run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Port names and numbers as the server reports them (0 resolved to the real port). */
export interface UiInfo {
  ports: Readonly<Record<string, number>>;
  tokenRequired: boolean;
}

/** Where the bundle is, from src/ui (vitest) and from dist/ui (the built CLI) alike. */
const BUNDLE_DIR = new URL('../../dist/ui-bundle/', import.meta.url);

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Longer ids are not stored ids (trace-loader.ts); their shell gets no preload. */
const MAX_PRELOAD_ID_CHARS = 256;

const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0f1b2d"/><rect x="2" y="3" width="12" height="3" rx="1" fill="#6c9bf0"/><rect x="4" y="7" width="9" height="3" rx="1" fill="#f2aa55"/><rect x="6" y="11" width="6" height="3" rx="1" fill="#4fc095"/></svg>`;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(body: Buffer | string, type: string): Asset {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: buf, type, etag: `"${createHash('sha256').update(buf).digest('hex').slice(0, 20)}"` };
}

/** `& < > " '` as HTML character references (for an attribute value). */
function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The page shell: no data, no inline script; the bundle's hash busts caches on upgrade.
 * `preload`: a same-origin API path the browser fetches while the bundle loads (a deep link's
 * trace columns), so the trace is on its way before the app has started.
 */
export function renderShell(version: string, preload: string | null = null): string {
  const preloadLink = preload === null ? '' : `<link rel="preload" href="${escapeAttr(preload)}" as="fetch" crossorigin="anonymous">\n`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weft</title>
<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
${preloadLink}<link rel="stylesheet" href="/ui/app.css?v=${version}">
<script type="module" src="/ui/app.js?v=${version}"></script>
</head>
<body><div id="app"><noscript>Weft's web UI needs JavaScript. The API is at /api/v1/traces/{traceId}.</noscript></div></body>
</html>
`;
}

/** What `/` says when the bundle was not built (tsc alone, without scripts/setup.mjs). */
function renderMissingBundle(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weft</title></head>
<body><h1>Weft</h1><p>The web UI bundle is not built. Run <code>node scripts/setup.mjs</code> (or <code>node scripts/build-ui.mjs</code>) and reload.
The query API works meanwhile: <code>/api/v1/traces/{traceId}</code>.</p></body></html>
`;
}

function loadBundle(): { js: Asset; css: Asset } | null {
  const js = new URL('app.js', BUNDLE_DIR);
  const css = new URL('app.css', BUNDLE_DIR);
  if (!existsSync(js) || !existsSync(css)) return null;
  return { js: asset(readFileSync(js), 'text/javascript; charset=utf-8'), css: asset(readFileSync(css), 'text/css; charset=utf-8') };
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset, cache: string): FastifyReply {
  void reply.headers(SECURITY_HEADERS).header('etag', a.etag).header('cache-control', cache);
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  return reply.type(a.type).send(a.body);
}

/**
 * Registers the UI routes on the query server. The bundle is read once, at start; a rebuilt
 * bundle is picked up by the next start.
 */
export async function installWebUi(app: FastifyInstance, info: UiInfo): Promise<void> {
  const bundle = loadBundle();
  const favicon = asset(FAVICON_SVG, 'image/svg+xml');
  if (bundle === null) {
    const page = asset(renderMissingBundle(), 'text/html; charset=utf-8');
    app.get('/', async (req, reply) => send(req, reply, page, 'no-cache'));
    app.get('/trace/:id', async (req, reply) => send(req, reply, page, 'no-cache'));
    app.get('/ui/favicon.svg', async (req, reply) => send(req, reply, favicon, 'max-age=86400'));
    return;
  }
  const version = bundle.js.etag.slice(1, 13);
  const shell = asset(renderShell(version), 'text/html; charset=utf-8');
  app.get('/', async (req, reply) => send(req, reply, shell, 'no-cache'));
  // Deep links open the same shell, plus a preload of the trace's columns (the path the app
  // fetches, traceColumnsPath in the app). Not with --token: the preload cannot carry the
  // token, and not for the JSON reference path (?via=json), which would not use it.
  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/trace/:id', async (req, reply) => {
    if (info.tokenRequired || req.query.via === 'json' || req.params.id.length > MAX_PRELOAD_ID_CHARS) return send(req, reply, shell, 'no-cache');
    const page = renderShell(version, `/api/v1/traces/${encodeURIComponent(req.params.id)}/columns`);
    void reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache');
    return reply.type('text/html; charset=utf-8').send(page);
  });
  app.get('/ui/app.js', async (req, reply) => send(req, reply, bundle.js, 'no-cache'));
  app.get('/ui/app.css', async (req, reply) => send(req, reply, bundle.css, 'no-cache'));
  app.get('/ui/favicon.svg', async (req, reply) => send(req, reply, favicon, 'max-age=86400'));
}
