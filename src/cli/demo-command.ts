/** @module `weft demo`: a small traced system (gateway, services, databases) to look at. */
import { Command, InvalidArgumentError } from 'commander';
import type { CommandContext } from './command-context.js';
import { traceUiUrl } from './trace-command.js';

interface DemoFlags {
  server: string;
  otlp: string;
  skywalking: string;
  frontend: 'otel' | 'skywalking';
  requests: number;
  burst: number;
  token?: string;
  once?: boolean;
  network?: boolean;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError(`must be an integer 1–1000 (actual: '${v}')`);
  return n;
}

function frontendKind(v: string): 'otel' | 'skywalking' {
  if (v !== 'otel' && v !== 'skywalking') throw new InvalidArgumentError(`must be otel or skywalking (actual: '${v}')`);
  return v;
}

export function demoCommand(ctx?: CommandContext): Command {
  const out = ctx?.stdout ?? process.stdout;
  const env = ctx?.env ?? {};
  return new Command('demo')
    .description('start a demo system (nginx gateway, an instrumented and an uninstrumented Node service, Redis, MariaDB, PostgreSQL, DNS) next to a running Weft, send traced requests through it, and print where to see the trace')
    .option('--server <url>', "Weft's query API", env.WEFT_SERVER ?? 'http://127.0.0.1:16686')
    .option('--otlp <url>', "Weft's OTLP/HTTP receiver (the OpenTelemetry frontend reports here)", 'http://127.0.0.1:4318')
    .option('--skywalking <host:port>', "Weft's SkyWalking gRPC receiver (the SkyWalking frontend reports here)", '127.0.0.1:11800')
    .option('--frontend <kind>', 'how the frontend is instrumented: otel or skywalking', frontendKind, 'otel')
    .option('--requests <n>', 'requests to send one at a time', positiveInt, 5)
    .option('--burst <n>', 'then send this many at once, to show traces stay apart under concurrency', positiveInt, 32)
    .option('--token <secret>', 'Bearer token, when Weft runs with --token')
    .option('--once', 'stop the demo system after printing the trace instead of waiting for Ctrl-C')
    .option('--network', 'the network-path demo instead: two nodes (VXLAN), bridges, a DNAT service address and pods in namespaces of this machine, one agent per node; every hop is a NET span (needs root)')
    .addHelpText(
      'after',
      `
Run Weft first (\`npm start\`, as root so its eBPF agent sees the demo's processes), then:
  $ npx weft demo
  $ npx weft demo --frontend skywalking --requests 20
  $ sudo npx weft demo --network --once

Everything the demo starts listens on 127.0.0.1 only and is stopped on Ctrl-C.`,
    )
    .action(async (flags: DemoFlags) => {
      const say = (line: string): void => {
        out.write(`${line}\n`);
      };
      if (flags.network) {
        // Loaded on use: it pulls in the eBPF agent.
        const { runNetworkDemo } = await import('./network-demo.js');
        const net = await runNetworkDemo({ queryUrl: flags.server.replace(/\/$/, ''), otlpUrl: flags.otlp.replace(/\/$/, ''), requests: flags.requests, progress: say, ...(flags.token ? { token: flags.token } : {}) });
        const id = net.traceIds[0] ?? '';
        say('');
        say('A trace through the network path (each hop a NET span, with its wire time):');
        say(`  ${traceUiUrl(flags.server, id)}`);
        say(`  npx weft trace ${id}${flags.server === 'http://127.0.0.1:16686' ? '' : ` --server ${flags.server}`}`);
        await new Promise((r) => setTimeout(r, 3000));
        if (flags.once) return net.stop();
        say('The demo keeps running; press Ctrl-C to remove the namespaces and stop everything it started.');
        return new Promise<void>((resolve) => {
          const stop = (): void => void net.stop().then(resolve, resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }
      const { runDemo } = await import('../demo/run-demo.js');
      const demo = await runDemo({
        queryUrl: flags.server.replace(/\/$/, ''),
        otlpUrl: flags.otlp.replace(/\/$/, ''),
        skywalkingGrpc: flags.skywalking,
        frontend: flags.frontend,
        requests: flags.requests,
        burst: flags.burst,
        waitMs: 30_000,
        progress: say,
        ...(flags.token ? { token: flags.token } : {}),
      });
      const id = demo.traceIds[0] ?? '';
      say('');
      say(`A full-stack trace (curl → nginx → frontend → backend → DNS, Redis, MariaDB, PostgreSQL):`);
      say(`  ${traceUiUrl(flags.server, id)}`);
      say(`  ${flags.server}/api/v1/traces/${id}`);
      say(`  npx weft trace ${id}${flags.server === 'http://127.0.0.1:16686' ? '' : ` --server ${flags.server}`}`);
      say(`Other traces: ${demo.traceIds.slice(1).map((t) => traceUiUrl(flags.server, t)).join(' ')}`);
      const mid = demo.burstTraceIds[Math.floor(demo.burstTraceIds.length / 2)];
      if (mid) {
        say('');
        say(`One of ${demo.burstTraceIds.length} requests sent at once (its own spans only; a call that cannot be told apart is left unlinked and named as ambiguous, never guessed):`);
        say(`  ${traceUiUrl(flags.server, mid)}`);
        say(`  npx weft trace ${mid}${flags.server === 'http://127.0.0.1:16686' ? '' : ` --server ${flags.server}`}`);
      }
      if (flags.once) {
        await demo.stop();
        return;
      }
      say('');
      say('The demo keeps running; press Ctrl-C to stop everything it started.');
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          say('stopping the demo system …');
          demo.stop().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
