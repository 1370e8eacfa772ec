/** @module `weft up`: server, UI and (when it can run here) the local agent. */
import { Command } from 'commander';
import { addServerOptions } from './server-options.js';
import type { CommandContext } from './command-context.js';

export function upCommand(ctx: CommandContext): Command {
  const cmd = new Command('up')
    .description('run the server, the web UI and a local agent (when eBPF is usable here), storing in ./weft-data')
    .addHelpText(
      'after',
      `
Examples:
  $ weft up                                  all six ports on 127.0.0.1, DuckDB in ./weft-data
  $ weft up --host 0.0.0.0 --token-file /etc/weft/token    accept spans from other hosts, with auth
  $ weft up --no-agent --store memory        no eBPF agent, nothing kept on disk
  $ WEFT_QUERY_PORT=8080 weft up             any option also from its WEFT_* variable`,
    );
  // Loaded on use: the server, store and agent are heavy and `weft trace` needs none of them.
  addServerOptions(cmd).action(async (flags: Record<string, unknown>) => {
    const { closeOnSignals, runServer } = await import('./run-server.js');
    closeOnSignals(await runServer(flags, { withAgent: true, env: ctx.env, cwd: ctx.cwd }));
  });
  return cmd;
}
