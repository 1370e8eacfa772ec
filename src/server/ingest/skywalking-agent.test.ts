/**
 * @module The real SkyWalking Node agent reports over gRPC to the SkyWalking receiver: the
 * callee's entry span is the child of the caller's exit span through the segment ref. The
 * recorded HTTP JSON fixtures decode through /v3/segment and /v3/segments.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skywalkingTraceIdToHex, SW_TRACE_ID_ATTR } from '../../apm/skywalking/index.js';
import { skywalkingHttpReceiver, startSkyWalkingGrpcReceiver } from './index.js';
import type { GrpcReceiverHandle } from './index.js';
import { createFakeSink } from './testing/fake-sink.js';
import { SHARED_APM_FIXTURES } from '../../apm/testing/shared-fixtures.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FIXTURES = join(SHARED_APM_FIXTURES, 'skywalking');

describe('SkyWalking Node agent → gRPC receiver', () => {
  const sink = createFakeSink();
  let handle: GrpcReceiverHandle;
  beforeAll(async () => {
    handle = await startSkyWalkingGrpcReceiver({ sink, maxBodyBytes: 4 << 20, host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await handle.close();
  });

  it('joins the caller exit span and the callee entry span through the ref', async () => {
    const child = spawn(process.execPath, [join(HERE, 'testdata', 'skywalking-agent-app.cjs')], {
      env: { ...process.env, SW_AGENT_COLLECTOR_BACKEND_SERVICES: `127.0.0.1:${handle.port}`, SW_AGENT_NAME: 'sw-node-app', SW_AGENT_LOGGING_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      // front's entry + exit, back's entry, and the script's own client exit span.
      const spans = await Promise.race([
        sink.waitFor(4),
        new Promise<never>((_r, reject) => child.on('exit', (code) => reject(new Error(`agent app exited ${String(code)}: ${stderr}`)))),
      ]);
      const backEntry = spans.find((s) => s.kind === 'server' && s.name.includes('/back'));
      const frontExit = spans.find((s) => s.kind === 'client' && s.name.includes('/back'));
      const frontEntry = spans.find((s) => s.kind === 'server' && s.name.includes('/front'));
      if (!backEntry || !frontExit || !frontEntry) throw new Error(`spans missing: ${JSON.stringify(spans.map((s) => [s.kind, s.name]))}`);
      expect(backEntry.parentSpanId).toBe(frontExit.spanId);
      expect(frontExit.parentSpanId).toBe(frontEntry.spanId);
      expect(backEntry.traceId).toBe(frontEntry.traceId);
      expect(backEntry.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(backEntry.traceId).toBe(skywalkingTraceIdToHex(String(backEntry.attributes[SW_TRACE_ID_ATTR])));
      expect(backEntry.spanId).toMatch(/^.+-\d+$/);
      expect(backEntry.service).toBe('sw-node-app');
      expect(backEntry).toMatchObject({ origin: 'skywalking', observationPoint: 's-app', protocol: 'http', requestType: 'GET', responseCode: 201, responseStatus: 'ok' });
      expect(frontExit).toMatchObject({ observationPoint: 'c-app', protocol: 'http' });
      expect(frontExit.attributes['sw.peer']).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(typeof frontExit.attributes['sw.component_id']).toBe('number');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('SkyWalking HTTP receiver with the recorded fixtures', () => {
  const sink = createFakeSink();
  const app = Fastify();
  beforeAll(async () => {
    await app.register(skywalkingHttpReceiver, { sink, maxBodyBytes: 4 << 20 });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  const files = readdirSync(FIXTURES).filter((f) => f.startsWith('v3-segment'));
  it.each(files)('%s', async (file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    const parsed: unknown = JSON.parse(text);
    const url = Array.isArray(parsed) ? '/v3/segments' : '/v3/segment';
    const before = sink.spans.length;
    const res = await app.inject({ method: 'POST', url, payload: text, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(200);
    const spans = sink.spans.slice(before);
    expect(spans.length).toBeGreaterThan(0);
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^.+-\d+$/);
      expect(s.origin).toBe('skywalking');
    }
    // Within each segment, a span with parentSpanId ≥ 0 points at a span of the same segment.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans) {
      const seg = String(s.attributes['sw.segment_id']);
      if (s.parentSpanId.startsWith(`${seg}-`)) expect(ids.has(s.parentSpanId)).toBe(true);
    }
    const entry = spans.find((s) => s.kind === 'server');
    if (entry) expect(entry.requestType).toBe('GET');
  });
});
