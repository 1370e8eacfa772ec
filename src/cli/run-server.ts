/**
 * @module What `weft up` and `weft server` share: resolve the config, start the server (and the
 * local agent for `up`), print one startup line, and shut down cleanly on SIGINT/SIGTERM.
 */
import type { Logger } from 'pino';
import { absolutePaths, resolveConfig } from '../server/config.js';
import type { RawOptions, WeftConfig } from '../server/config.js';
import { startServer } from '../server/app.js';
import type { RunningServer } from '../server/app.js';
import { installWebUi } from '../ui/ui-server.js';
import { createCliLogger } from './logger.js';
import { startLocalAgent } from './local-agent.js';
import { createConfiguredExporter, exporterSamples } from './otlp-export.js';
import type { RunningAgent } from './local-agent.js';

export interface RunServerOptions {
  withAgent: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export interface RunningWeft {
  server: RunningServer;
  agent: RunningAgent | null;
  config: WeftConfig;
  logger: Logger;
  close(): Promise<void>;
}

/** Starts server (+ agent); throws TRC_CONFIG_INVALID (exit 2) before anything listens. */
export async function runServer(flags: RawOptions, o: RunServerOptions): Promise<RunningWeft> {
  const config = absolutePaths(resolveConfig(flags, o.env), o.cwd);
  if (!o.withAgent) config.agent = false;
  const logger = createCliLogger(config.logLevel);
  if (typeof flags.token === 'string') {
    // /proc/PID/cmdline is world-readable: every local user can read a token given as a flag.
    logger.warn('--token on the command line is visible to every local user (ps, /proc/PID/cmdline); use WEFT_TOKEN or --token-file instead');
  }
  const exporter = config.exportOtlp ? createConfiguredExporter(config.exportOtlp) : null;
  const server = await startServer(config, {
    logger,
    ui: installWebUi,
    ...(exporter ? { onDurable: (spans) => exporter.export(spans) } : {}),
  }).catch(async (err: unknown) => {
    await exporter?.shutdown();
    throw err;
  });
  if (exporter) server.metrics.add(() => exporterSamples(exporter));
  let agent: RunningAgent | null = null;
  if (config.agent) {
    try {
      const result = await startLocalAgent({
        sink: server.sink,
        interfaces: config.interfaces,
        nodeHook: config.nodeHook,
        logger, // the agent names its own component
        metrics: server.metrics,
        ...(config.token ? { token: config.token } : {}),
      });
      if (result.started) agent = result.agent;
      else logger.info(`local agent not started: ${result.reason}; the server runs without SYS/NET spans`);
    } catch (err) {
      logger.warn({ err }, 'local agent failed to start; the server runs without SYS/NET spans');
    }
  }
  logger.info(
    {
      ports: server.ports,
      host: config.host,
      store: config.store.kind,
      data: config.dataDir,
      auth: config.token !== null,
      agent: agent !== null,
      exportOtlp: config.exportOtlp?.url ?? null,
    },
    `weft listening on ${config.host}: otlp-grpc ${server.ports.otlpGrpc}, otlp-http ${server.ports.otlpHttp}, zipkin ${server.ports.zipkin}, ` +
      `skywalking-grpc ${server.ports.skywalkingGrpc}, skywalking-http ${server.ports.skywalkingHttp}, query+ui ${server.ports.query}`,
  );
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (agent) await agent.close().catch((err: unknown) => logger.warn({ err }, 'agent shutdown failed'));
      await server.close();
      // After the server: every span it acknowledged has been handed over and is flushed now.
      await exporter?.shutdown().catch((err: unknown) => logger.warn({ err }, 'exporter shutdown failed'));
    })());
  return { server, agent, config, logger, close };
}

/** Closes on the first SIGINT/SIGTERM (flushing the pipeline); a second signal exits at once. */
export function closeOnSignals(running: RunningWeft): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(130);
    signalled = true;
    running.logger.info({ signal }, 'shutting down: flushing pending spans');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
