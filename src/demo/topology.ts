/**
 * @module The demo system, also used by the end-to-end tests: real Redis, MariaDB, PostgreSQL
 * and DNS servers, an uninstrumented Node backend that calls them all, optionally a Node frontend
 * instrumented with OpenTelemetry or SkyWalking in front of it, and nginx as the gateway.
 *
 *   curl → nginx (X-Request-ID) → [frontend: OTel | SkyWalking] → backend → DNS, Redis, MariaDB, PostgreSQL
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServiceGroup, freePort, startService, type RunningService } from './services/process-control.js';
import { startDns, startMariaDb, startNginx, startPostgres, startRedis } from './services/real-services.js';

export type FrontendKind = 'none' | 'otel' | 'skywalking';

export interface TopologyOptions {
  frontend: FrontendKind;
  /** Where the instrumented frontend reports: OTLP/HTTP base URL (otel) or host:port gRPC (skywalking). */
  collector?: string;
  /** Bearer token for the collector, when Weft runs with --token. */
  token?: string;
  /** Called with one line per step, for progress output. */
  progress?: (line: string) => void;
}

export interface Topology {
  /** The URL to send requests to (nginx). */
  entryUrl: string;
  /** Every process started, by name (pids for filters and assertions). */
  services: Record<string, RunningService>;
  stop(): Promise<void>;
}

/** The DNS name the backend resolves on every request. */
export const DEMO_DNS_NAME = 'inventory.weft.test';

/** The package root, from src/demo or dist/demo alike; the apps resolve npm dependencies there. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The apps are plain JavaScript run by node as they are, so they stay in src/ (not compiled). */
const APPS_DIR = join(PACKAGE_ROOT, 'src', 'demo', 'apps');

export async function startTopology(o: TopologyOptions): Promise<Topology> {
  const say = o.progress ?? (() => undefined);
  const { dir, services, keep, stop } = createServiceGroup('weft-demo-');
  try {
    say('starting Redis, MariaDB, PostgreSQL and DNS …');
    const [redis, maria, pg, dns] = await Promise.all([
      startRedis(join(dir, 'redis')).then(keep),
      startMariaDb(join(dir, 'mariadb')).then(keep),
      startPostgres().then(keep),
      startDns({ [DEMO_DNS_NAME]: '127.0.0.1' }).then(keep),
    ]);
    say('starting the uninstrumented backend …');
    const backendPort = await freePort();
    keep(
      await startService('backend', process.execPath, [join(APPS_DIR, 'backend.mjs')], backendPort, {
        cwd: PACKAGE_ROOT,
        env: {
          ...process.env,
          PORT: String(backendPort),
          DNS_PORT: String(dns.port),
          DNS_NAME: DEMO_DNS_NAME,
          REDIS_PORT: String(redis.port),
          MYSQL_PORT: String(maria.port),
          PG_PORT: String(pg.port),
        },
      }),
    );
    let upstream = backendPort;
    if (o.frontend !== 'none') {
      if (!o.collector) throw new Error(`a ${o.frontend} frontend needs a collector address`);
      say(`starting the ${o.frontend === 'otel' ? 'OpenTelemetry' : 'SkyWalking'}-instrumented frontend …`);
      const frontendPort = await freePort();
      const app = o.frontend === 'otel' ? 'frontend-otel.cjs' : 'frontend-skywalking.cjs';
      keep(
        await startService('frontend', process.execPath, [join(APPS_DIR, app)], frontendPort, {
          cwd: PACKAGE_ROOT,
          env: {
            ...process.env,
            PORT: String(frontendPort),
            BACKEND_URL: `http://127.0.0.1:${backendPort}`,
            COLLECTOR: o.collector,
            ...(o.token ? { COLLECTOR_TOKEN: o.token } : {}),
          },
        }),
      );
      upstream = frontendPort;
    }
    say('starting the nginx gateway …');
    const nginx = keep(await startNginx(join(dir, 'nginx'), { upstreamPort: upstream, addRequestId: true }));
    return { entryUrl: `http://127.0.0.1:${nginx.port}`, services, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
