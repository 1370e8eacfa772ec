/**
 * @module The placeholder web UI at `GET /`: the ports, and a trace-id box that fetches
 * `/api/v1/traces/{id}` and shows the tree as an indented list. The real UI is a later issue.
 *
 * Captured data is hostile: the page builds every span line with `textContent`, never HTML, and
 * the few server-side values are escaped. A strict Content-Security-Policy backs that up.
 */
import type { FastifyInstance } from 'fastify';

/** Port names and numbers as the server reports them (0 resolved to the real port). */
export interface PlaceholderUiInfo {
  ports: Readonly<Record<string, number>>;
  tokenRequired: boolean;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const PORT_LABELS: Record<string, string> = {
  otlpGrpc: 'OTLP gRPC',
  otlpHttp: 'OTLP HTTP /v1/traces',
  zipkin: 'Zipkin /api/v2/spans',
  skywalkingGrpc: 'SkyWalking gRPC',
  skywalkingHttp: 'SkyWalking HTTP /v3/segments',
  query: 'Query API and UI',
};

/** Runs in the browser: fetch a trace and draw it with textContent only. */
const CLIENT_SCRIPT = `
const form = document.getElementById('f');
const out = document.getElementById('out');
const msg = document.getElementById('msg');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  out.replaceChildren();
  msg.textContent = 'loading…';
  const id = document.getElementById('id').value.trim();
  const token = document.getElementById('token').value.trim();
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  try {
    const res = await fetch('/api/v1/traces/' + encodeURIComponent(id), { headers });
    const body = await res.json();
    if (!res.ok) { msg.textContent = res.status + ' ' + ((body.error && body.error.message) || ''); return; }
    const depth = new Map();
    for (const s of body.spans) {
      const d = s.parentId === null || !depth.has(s.parentId) ? 0 : depth.get(s.parentId) + 1;
      depth.set(s.id, d);
      const ms = (Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6).toFixed(3);
      const li = document.createElement('li');
      li.style.paddingLeft = (d * 1.5) + 'em';
      li.textContent = s.name + '  [' + s.service + ']  ' + ms + ' ms  ' + s.source + '/' + s.observationPoint + (s.linkReason ? '  via ' + s.linkReason : '');
      out.appendChild(li);
    }
    msg.textContent = body.spans.length + ' spans' + (body.warnings.length ? '; warnings: ' + body.warnings.join('; ') : '');
  } catch (e) { msg.textContent = String(e); }
});
`;

export function renderPlaceholderPage(info: PlaceholderUiInfo): string {
  const rows = Object.entries(info.ports)
    .map(([k, v]) => `<tr><td>${escapeHtml(PORT_LABELS[k] ?? k)}</td><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weft</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}td{padding:.1em 1em .1em 0}
ul{list-style:none;padding:0;font-family:ui-monospace,monospace}li{white-space:pre}</style></head>
<body><h1>Weft</h1><p>Full-stack distributed tracing. The full UI is on its way; this page shows one trace as a tree.</p>
<table>${rows}</table>
<form id="f"><input id="id" placeholder="trace id" size="40" required>
<input id="token" placeholder="token${info.tokenRequired ? ' (required)' : ' (not needed)'}" size="20" type="password">
<button>Show trace</button></form><p id="msg"></p><ul id="out"></ul>
<script src="/ui/placeholder.js"></script></body></html>
`;
}

/** Registers `GET /` and its script on the query server. */
export async function installPlaceholderUi(app: FastifyInstance, info: PlaceholderUiInfo): Promise<void> {
  const csp = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'";
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', csp).send(renderPlaceholderPage(info)));
  app.get('/ui/placeholder.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(CLIENT_SCRIPT));
}
