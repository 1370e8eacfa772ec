/**
 * @module Starts a real Weft server in-process for end-to-end tests: every port 0 (ephemeral),
 * 127.0.0.1, a temporary data directory with the DuckDB store, a silent logger, the web UI.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer } from '../../src/server/app.js';
import type { RunningServer } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import type { WeftConfig } from '../../src/server/config.js';
import { installWebUi } from '../../src/ui/ui-server.js';

export interface TestWeft {
  server: RunningServer;
  config: WeftConfig;
  /** Base URLs of the HTTP ports and host:port of the gRPC ones. */
  urls: { query: string; otlpHttp: string; zipkin: string; skywalkingHttp: string; otlpGrpc: string; skywalkingGrpc: string };
  close(): Promise<void>;
}

export const ALL_PORTS_ZERO = { otlpGrpc: 0, otlpHttp: 0, zipkin: 0, skywalkingGrpc: 0, skywalkingHttp: 0, query: 0 };

export async function startTestWeft(overrides: Partial<WeftConfig> = {}): Promise<TestWeft> {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-e2e-'));
  const config: WeftConfig = {
    ...defaultConfig(),
    dataDir,
    store: { kind: 'duckdb', path: join(dataDir, 'weft.duckdb') },
    host: '127.0.0.1',
    ports: { ...ALL_PORTS_ZERO },
    agent: false,
    ...overrides,
  };
  const server = await startServer(config, { logger: pino({ level: 'silent' }), ui: installWebUi });
  const p = server.ports;
  const http = (port: number): string => `http://127.0.0.1:${port}`;
  return {
    server,
    config,
    urls: {
      query: http(p.query),
      otlpHttp: http(p.otlpHttp),
      zipkin: http(p.zipkin),
      skywalkingHttp: http(p.skywalkingHttp),
      otlpGrpc: `127.0.0.1:${p.otlpGrpc}`,
      skywalkingGrpc: `127.0.0.1:${p.skywalkingGrpc}`,
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Minimal shape of `GET /api/v1/traces/{id}` that the tests read. */
export interface V1Trace {
  traceId: string;
  spans: {
    id: string;
    parentId: string | null;
    spanId: string;
    parentSpanId: string;
    linkReason: string | null;
    name: string;
    service: string;
    source: string;
    observationPoint: string;
    traceId: string;
  }[];
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

/**
 * Polls until `probe` returns a value (for agents that report on their own schedule, e.g. the
 * SkyWalking agent's 1 s flush). Each round waits for the previous request, so it is bounded by
 * server answers, not a fixed sleep.
 */
export async function eventually<T>(probe: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
