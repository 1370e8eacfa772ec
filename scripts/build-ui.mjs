// Builds the web UI bundle: src/ui/app (Preact + canvas, TypeScript) → dist/ui-bundle/{app.js,app.css}.
//
// Run by scripts/setup.mjs (so `npm start`, `npm test` and `npm run bench` have it) and by the UI
// tests and benchmark before they start a server. Everything the page needs is in the bundle: no
// CDN, no fonts or scripts fetched at run time. The output is one ES module and one stylesheet, so
// the page's Content-Security-Policy can stay at `script-src 'self'; style-src 'self'`.
//
// Usage: node scripts/build-ui.mjs [--dev] (--dev: no minification, inline source map)
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const UI_BUNDLE_DIR = join(root, 'dist', 'ui-bundle');

/** Builds the bundle; resolves with the output paths. Throws esbuild's error on a build failure. */
export async function buildUi({ dev = false } = {}) {
  const esbuild = await import('esbuild');
  mkdirSync(UI_BUNDLE_DIR, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: 'src/ui/app/main.tsx' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    outdir: UI_BUNDLE_DIR,
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'warning',
    legalComments: 'none',
    // The app only reads types from the server; a value import would drag Node code in.
    define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
    write: false,
  });
  // Each file is written beside its target and renamed over it, so a server (or a test running
  // alongside another build) reads the old bundle or the new one, never half of one.
  for (const f of result.outputFiles) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
  return { js: join(UI_BUNDLE_DIR, 'app.js'), css: join(UI_BUNDLE_DIR, 'app.css') };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  buildUi({ dev: process.argv.includes('--dev') }).then(
    (out) => process.stderr.write(`build-ui: ${out.js} in ${Date.now() - started} ms\n`),
    (err) => {
      process.stderr.write(`build-ui: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
