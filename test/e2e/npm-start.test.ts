/**
 * @module What `npm start` does on a machine that already has everything: setup is idempotent
 * (a second run installs nothing), then `bin/weft.js up` brings all six ports up and `/` answers.
 *
 * A literal fresh clone cannot be tested from a working tree with uncommitted work; CI runs
 * `npm test` on a fresh machine, which runs the same setup first.
 */
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PORT_FLAGS_ZERO, REPO_ROOT, exited, runToEnd, startUntilListening } from './cli-process.js';

/** Setup finishes this fast when it has nothing to do (stated in scripts/setup.mjs). */
const IDLE_SETUP_MS = 2000;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('npm start', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('runs setup idempotently: the second run installs nothing', async () => {
    const first = await runToEnd([join(REPO_ROOT, 'scripts', 'setup.mjs')]);
    expect(first.code, first.stderr).toBe(0);
    const started = Date.now();
    const second = await runToEnd([join(REPO_ROOT, 'scripts', 'setup.mjs')]);
    const elapsedMs = Date.now() - started;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/npm ci|apt: installing/);
    expect(second.stderr).toMatch(/setup: ready in \d+ ms/);
    // Sources edited between the runs (a developer saving a file) legitimately rebuild.
    if (!/build:|native:/.test(second.stderr)) expect(elapsedMs).toBeLessThan(IDLE_SETUP_MS + 1000);
  });

  it('brings all six ports up and serves the UI at /', async () => {
    const data = await mkdtemp(join(tmpdir(), 'weft-up-'));
    dirs.push(data);
    const up = await startUntilListening([join(REPO_ROOT, 'bin', 'weft.js'), 'up', '--data', data, ...PORT_FLAGS_ZERO]);
    try {
      expect(Object.keys(up.ports).sort()).toEqual(['otlpGrpc', 'otlpHttp', 'query', 'skywalkingGrpc', 'skywalkingHttp', 'zipkin']);
      for (const port of Object.values(up.ports)) expect(await accepts(port)).toBe(true);
      const page = await fetch(`http://127.0.0.1:${up.ports.query}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toContain('<title>Weft</title>');
      expect((await fetch(`http://127.0.0.1:${up.ports.query}/healthz`)).status).toBe(200);
      // Quiet by default: no per-request lines, only startup (and the agent's one line).
      expect(up.log().split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(3);
    } finally {
      up.child.kill('SIGTERM');
      await exited(up.child);
    }
    expect(up.child.exitCode).toBe(0);
  });
});
