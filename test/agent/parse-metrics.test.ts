/**
 * Per-protocol parse errors, dropped bytes and stitch errors in /metrics (issue 8, B), from real
 * traffic the agent sees: redis-cli speaks RESP to a real memcached, which answers `ERROR` lines,
 * not RESP (redis-cli: "Protocol error, got "E" as reply type byte"). The exchange is detected as
 * Redis by its request; its answer does not parse, and /metrics says so, per protocol and reason.
 *
 * The MySQL compressed protocol is read (inflated), marked on the span and counted: the real
 * `mariadb --compress` client against a real mariadbd started here, and /metrics says how many
 * frames and connections it carried, per protocol and reason.
 *
 * Needs root and BTF, like the other eBPF end-to-end tests (fails instead of skipping in CI).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ebpfAvailability } from '../../src/agent/ebpf/native.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { startTestWeft, type TestWeft } from '../e2e/weft-harness.js';
import { startMariaDb } from '../../src/demo/services/real-services.js';
import { freePort, type RunningService } from '../../src/demo/services/process-control.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const availability = ebpfAvailability();
const unavailable = availability.ok ? null : availability.reason;
if (unavailable && process.env.CI === 'true') throw new Error(`eBPF end-to-end test cannot run in CI: ${unavailable}`);

const run = promisify(execFile);

function sample(text: string, name: string, labels: Record<string, string>): number | null {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (want.every((w) => inside.includes(w))) return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return null;
}

describe.skipIf(unavailable !== null)(`parse errors per protocol in /metrics${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let weft: TestWeft;
  let agent: RunningAgent;
  let memcached: ChildProcess;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    memcached = spawn('memcached', ['-u', 'nobody', '-l', '127.0.0.1', '-p', String(port), '-U', '0'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.end();
          resolve(true);
        }).on('error', () => resolve(false));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    weft = await startTestWeft();
    agent = await startAgent({ sink: weft.server.sink, interfaces: [], logger: pino({ level: 'silent' }), ebpf: { ports: [port] } });
    weft.server.metrics.add(() => agent.metrics());
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
    await weft?.close();
    memcached?.kill('SIGTERM');
  }, 30_000);

  it('counts the Redis answer that did not parse, under protocol="redis"', async () => {
    const metricsText = async () => (await fetch(`${weft.urls.query}/metrics`)).text();
    const before = await metricsText();
    // Every protocol's series is there before any error, at 0.
    expect(sample(before, 'weft_agent_parse_errors_total', { protocol: 'memcached', reason: 'invalid' })).toBe(0);
    expect(sample(before, 'weft_agent_stitch_errors_total', { protocol: 'http', reason: 'unmatched_response' })).toBe(0);
    const start = sample(before, 'weft_agent_parse_errors_total', { protocol: 'redis', reason: 'invalid' }) ?? 0;
    for (let i = 0; i < 3; i++) await run('redis-cli', ['-p', String(port), 'GET', `key${i}`]).catch(() => undefined);
    let after = before;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      after = await metricsText();
      if ((sample(after, 'weft_agent_parse_errors_total', { protocol: 'redis', reason: 'invalid' }) ?? 0) > start) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(sample(after, 'weft_agent_parse_errors_total', { protocol: 'redis', reason: 'invalid' })).toBeGreaterThan(start);
    expect(sample(after, 'weft_agent_parse_dropped_bytes_total', { protocol: 'redis', reason: 'invalid' })).toBeGreaterThan(0);
  }, 60_000);
});

describe.skipIf(unavailable !== null)(`the MySQL compressed protocol counted in /metrics${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let weft: TestWeft;
  let agent: RunningAgent;
  let mariadb: RunningService;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weft-compressed-'));
    mariadb = await startMariaDb(join(dir, 'data'));
    weft = await startTestWeft();
    // Only this server's sockets: other tests run their own MariaDB at the same time.
    agent = await startAgent({ sink: weft.server.sink, interfaces: [], logger: pino({ level: 'silent' }), ebpf: { ports: [mariadb.port] } });
    weft.server.metrics.add(() => agent.metrics());
  }, 180_000);

  afterAll(async () => {
    await agent?.close();
    await weft?.close();
    await mariadb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('reads mariadb --compress traffic, marks its spans, and counts its frames and connections', async () => {
    const metricsText = async () => (await fetch(`${weft.urls.query}/metrics`)).text();
    const compressed = { protocol: 'mysql', reason: 'compressed' };
    const before = await metricsText();
    // The series exist before any compressed traffic.
    expect(sample(before, 'weft_agent_parse_marked_frames_total', compressed)).toBe(0);
    expect(sample(before, 'weft_agent_parse_marked_streams_total', compressed)).toBe(0);
    // One compressed session (three statements, the second's answer zlib-compressed) and one plain.
    const client = (extra: string[], sql: string) => run('mariadb', ['--no-defaults', ...extra, '-h127.0.0.1', `-P${mariadb.port}`, '-uroot', '-e', sql]);
    await client(['--compress'], "SELECT 1; SELECT REPEAT('x', 2000) AS big; SELECT 3");
    await client([], 'SELECT 4');
    let after = before;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      after = await metricsText();
      if ((sample(after, 'weft_agent_parse_marked_frames_total', compressed) ?? 0) >= 6) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    // Each side the agent saw (the client's and the server's syscalls) read the three commands
    // and their three answers through the compressed protocol, on one connection each.
    const frames = sample(after, 'weft_agent_parse_marked_frames_total', compressed) ?? 0;
    const streams = sample(after, 'weft_agent_parse_marked_streams_total', compressed) ?? 0;
    expect(frames).toBeGreaterThanOrEqual(6);
    expect(streams).toBeGreaterThanOrEqual(1);
    expect(streams).toBeLessThanOrEqual(2);
    expect(frames).toBeLessThanOrEqual(12 * streams);
    expect(sample(after, 'weft_agent_parse_errors_total', { protocol: 'mysql', reason: 'invalid' })).toBe(0);
    // The spans say so too, with the SQL read from the inflated frames; the plain session is not marked.
    type ApiSpan = { requestResource: string; attributes: Record<string, unknown> };
    let spans: ApiSpan[] = [];
    const stored = Date.now() + 30_000;
    // Spans reach the store through the agent's shipping queue, after the counters moved.
    while (Date.now() < stored) {
      const res = await fetch(`${weft.urls.query}/api/v1/spans?source=sys&limit=1000`);
      spans = ((await res.json()) as { spans: ApiSpan[] }).spans;
      if (spans.some((s) => s.requestResource === 'SELECT 4') && spans.some((s) => s.requestResource.startsWith('SELECT REPEAT'))) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const big = spans.filter((s) => s.requestResource.startsWith("SELECT REPEAT('x', 2000)"));
    expect(big.length).toBeGreaterThan(0);
    for (const s of big) expect(s.attributes['weft.mysql.compressed']).toBe(true);
    const plain = spans.filter((s) => s.requestResource === 'SELECT 4');
    expect(plain.length).toBeGreaterThan(0);
    for (const s of plain) expect(s.attributes['weft.mysql.compressed']).toBeUndefined();
  }, 90_000);
});
