/** @module `weft server`: receivers, store, query API and UI, without a local agent. */
import { Command } from 'commander';
import { addServerOptions } from './server-options.js';
import type { CommandContext } from './command-context.js';

export function serverCommand(ctx: CommandContext): Command {
  const cmd = new Command('server')
    .description('run the server (receivers, store, query API, UI) without a local agent')
    .addHelpText(
      'after',
      `
Examples:
  $ weft server --data /var/lib/weft
  $ weft server --store memory --otlp-http-port 0 --query-port 0
  $ weft server --host 0.0.0.0 --token-file /etc/weft/token`,
    );
  // Loaded on use: the server, store and agent are heavy and `weft trace` needs none of them.
  addServerOptions(cmd, ['agent', 'interfaces', 'nodeHook']).action(async (flags: Record<string, unknown>) => {
    const { closeOnSignals, runServer } = await import('./run-server.js');
    closeOnSignals(await runServer(flags, { withAgent: false, env: ctx.env, cwd: ctx.cwd }));
  });
  return cmd;
}
