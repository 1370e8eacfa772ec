/**
 * @module `--export-otlp`: one Weft exports what it stores to another Weft's OTLP receiver
 * (HTTP and gRPC), filtered by `--export-filter`; a bad filter fails the start with exit 2.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServer } from '../../src/cli/run-server.js';
import { cliFromSource, PORT_FLAGS_ZERO, runToEnd } from './cli-process.js';
import { eventually, getJson, startTestWeft } from './weft-harness.js';
import type { TestWeft, V1Trace } from './weft-harness.js';

const TRACE_IDS: Record<string, string> = { http: '4bf92f3577b34da6a3ce929d0e0e4736', grpc: '5bf92f3577b34da6a3ce929d0e0e4737' };

function body(service: string, traceId: string): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: [
              { traceId, spanId: '00f067aa0ba902b7', name: 'GET /exported', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000200000000' },
            ],
          },
        ],
      },
    ],
  });
}

function flags(rec: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < PORT_FLAGS_ZERO.length; i += 2) {
    const key = (PORT_FLAGS_ZERO[i] ?? '').slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    out[key] = '0';
  }
  return { ...out, logLevel: 'silent', store: 'memory', ...rec };
}

describe('--export-otlp', () => {
  let target: TestWeft;
  const dirs: string[] = [];
  beforeAll(async () => {
    target = await startTestWeft();
  });
  afterAll(async () => {
    await target?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it.each(['http', 'grpc'])('sends stored spans to another OTLP endpoint over %s', async (kind) => {
    const data = await mkdtemp(join(tmpdir(), 'weft-export-'));
    dirs.push(data);
    const url = kind === 'http' ? target.urls.otlpHttp : `grpc://${target.urls.otlpGrpc}`;
    const source = await runServer(flags({ data, exportOtlp: url, exportFilter: 'source=app' }), { withAgent: false, env: {}, cwd: data });
    try {
      const service = `exported-${kind}`;
      const res = await fetch(`http://127.0.0.1:${source.server.ports.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(service, TRACE_IDS[kind] ?? '') });
      expect(res.status).toBe(200);
      const trace = await eventually(
        async () => {
          const r = await getJson<V1Trace>(`${target.urls.query}/api/v1/traces/${TRACE_IDS[kind] ?? ''}`);
          return r.status === 200 && r.body.spans.some((s) => s.service === service) ? r.body : null;
        },
        15_000,
        'the exported span at the target',
      );
      expect(trace.spans.find((s) => s.service === service)?.name).toBe('GET /exported');
    } finally {
      await source.close();
    }
  });

  it('fails the start with exit 2 on a bad --export-filter', async () => {
    const r = await runToEnd(cliFromSource(['server', '--store', 'memory', ...PORT_FLAGS_ZERO, '--export-otlp', 'http://127.0.0.1:1', '--export-filter', 'colour=blue']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--export-filter');
    expect(r.stderr).toContain('colour=blue');
  });
});
