/**
 * The UI routes through fastify.inject(): the shell at / and /trace/{id} holds no data and no
 * inline script, every answer carries the strict CSP, the bundle is served with an ETag.
 */
import { spawnSync } from 'node:child_process';
import Fastify from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, installWebUi, renderShell } from './ui-server.js';

beforeAll(() => {
  // The bundle is built by scripts/setup.mjs; build it here too so this file stands alone.
  const built = spawnSync(process.execPath, [new URL('../../scripts/build-ui.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
}, 120_000);

describe('web UI routes', () => {
  it('the shell: same-origin module script and stylesheet, nothing inline', () => {
    const html = renderShell('abc123');
    expect(html).toContain('<script type="module" src="/ui/app.js?v=abc123"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/ui/app.css?v=abc123">');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<style|\sstyle=|\son\w+=/);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
  });

  it('serves / and deep links with the CSP, and the bundle with an ETag', async () => {
    const app = Fastify();
    await installWebUi(app, { ports: {}, tokenRequired: true });
    for (const url of ['/', '/trace/4bf92f3577b34da6a3ce929d0e0e4736', '/trace/%3Cimg%20src%3Dx%3E']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      // The id is read by the app from the URL; the server never writes it into the page.
      expect(res.body).not.toContain('img');
      expect(res.body).toContain('<title>Weft</title>');
    }
    const js = await app.inject({ method: 'GET', url: '/ui/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    const etag = String(js.headers.etag);
    expect((await app.inject({ method: 'GET', url: '/ui/app.js', headers: { 'if-none-match': etag } })).statusCode).toBe(304);
    expect((await app.inject({ method: 'GET', url: '/ui/app.css' })).headers['content-type']).toMatch(/^text\/css/);
    expect((await app.inject({ method: 'GET', url: '/ui/favicon.svg' })).statusCode).toBe(200);
    await app.close();
  });
});
