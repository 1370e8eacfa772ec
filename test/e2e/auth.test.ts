/**
 * @module --token: every ingest and query call needs `Authorization: Bearer SECRET` (HTTP 401 /
 * gRPC UNAUTHENTICATED without it); /healthz and the UI shell stay open. The SkyWalking
 * receivers also take SkyWalking's own `Authentication: SECRET`, which the real agent sends.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited } from './cli-process.js';
import { eventually, getJson, startTestWeft } from './weft-harness.js';
import type { TestWeft } from './weft-harness.js';

const TOKEN = 's3cret-token';
const OTLP_EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

const otlpJsonBody = JSON.stringify({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'auth-svc' } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: '5b8efff798038103d269b633813fc60c',
              spanId: 'eee19b7ec3c1b174',
              name: 'GET /auth',
              kind: 2,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000100000000',
            },
          ],
        },
      ],
    },
  ],
});

function grpcExport(address: string, metadata: grpc.Metadata): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      OTLP_EXPORT,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0), // an empty ExportTraceServiceRequest is valid protobuf
      metadata,
      (err) => {
        client.close();
        resolve(err ?? null);
      },
    );
  });
}

describe('--token', () => {
  let weft: TestWeft;
  beforeAll(async () => {
    weft = await startTestWeft({ token: TOKEN });
  });
  afterAll(async () => weft?.close());

  const auth = { authorization: `Bearer ${TOKEN}` };
  const post = (url: string, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: otlpJsonBody });

  it('rejects HTTP ingest without the token (401 with the fixed error body) and accepts it with', async () => {
    const none = await post(`${weft.urls.otlpHttp}/v1/traces`, {});
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'TRC_AUTH_UNAUTHORIZED' } });
    expect((await post(`${weft.urls.otlpHttp}/v1/traces`, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(`${weft.urls.otlpHttp}/v1/traces`, auth)).status).toBe(200);
    const zipkinNone = await fetch(`${weft.urls.zipkin}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(zipkinNone.status).toBe(401);
    const swNone = await fetch(`${weft.urls.skywalkingHttp}/v3/segments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(swNone.status).toBe(401);
  });

  it('rejects query calls without the token and answers them with it; /healthz and / stay open', async () => {
    const url = `${weft.urls.query}/api/v1/traces/5b8efff798038103d269b633813fc60c`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${weft.urls.query}/api/services`)).status).toBe(401);
    expect((await fetch(`${weft.urls.query}/metrics`)).status).toBe(401);
    const ok = await fetch(url, { headers: auth });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { spans: { name: string }[] };
    expect(body.spans.map((s) => s.name)).toContain('GET /auth');
    expect((await fetch(`${weft.urls.query}/healthz`)).status).toBe(200);
    expect((await fetch(`${weft.urls.query}/`)).status).toBe(200);
  });

  it('answers gRPC UNAUTHENTICATED without the metadata and OK with it', async () => {
    const denied = await grpcExport(weft.urls.otlpGrpc, new grpc.Metadata());
    expect(denied?.code).toBe(grpc.status.UNAUTHENTICATED);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    expect(await grpcExport(weft.urls.otlpGrpc, md)).toBeNull();
  });

  it('takes the real SkyWalking agent\'s Authentication metadata and header, and only on the SkyWalking receivers', async () => {
    const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'skywalking-pair.cjs')], {
      env: {
        ...process.env,
        SW_AGENT_COLLECTOR_BACKEND_SERVICES: weft.urls.skywalkingGrpc,
        SW_AGENT_NAME: 'auth-sw',
        SW_AGENT_AUTHENTICATION: TOKEN,
        SW_AGENT_LOGGING_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await eventually(
        async () => {
          const found = await getJson<{ spans: unknown[] }>(`${weft.urls.query}/api/v1/spans?service=auth-sw&limit=10`, auth);
          return found.body.spans.length > 0 ? true : null;
        },
        20_000,
        'segments of the SkyWalking agent sent with SW_AGENT_AUTHENTICATION',
      );
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
    const swPost = (headers: Record<string, string>) =>
      fetch(`${weft.urls.skywalkingHttp}/v3/segments`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '[]' });
    expect((await swPost({ authentication: TOKEN })).status).toBe(200);
    expect((await swPost({ authentication: 'wrong' })).status).toBe(401);
    // Elsewhere the bare token is not a credential.
    expect((await post(`${weft.urls.otlpHttp}/v1/traces`, { authentication: TOKEN })).status).toBe(401);
    const md = new grpc.Metadata();
    md.set('authentication', TOKEN);
    expect((await grpcExport(weft.urls.otlpGrpc, md))?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
