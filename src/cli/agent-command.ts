/** @module `weft agent`: capture on this host and ship spans to a (remote) Weft server. */
import { Command } from 'commander';
import { loadClientConfig } from '../server/config.js';
import { notAvailableYet, usageError } from './cli-errors.js';
import type { CommandContext } from './command-context.js';
import { createCliLogger } from './logger.js';
import { loadAgentStarter } from './local-agent.js';

export function agentCommand(ctx: CommandContext): Command {
  return new Command('agent')
    .description('capture SYS spans (eBPF) and NET spans (packets) here and send them to a Weft server')
    .option('--server <url>', 'the Weft server to send to (default: http://127.0.0.1:16686; env WEFT_SERVER)')
    .option('--interfaces <nics>', 'comma-separated NICs to capture packets on (default: the agent\'s choice)')
    .option('--token <secret>', 'Bearer token the server requires (env WEFT_TOKEN)')
    .addHelpText(
      'after',
      `
Examples:
  $ sudo weft agent --server http://weft.internal:16686 --interfaces eth0,eth1
  $ sudo weft agent --server http://10.0.0.5:16686 --token s3cret`,
    )
    .action(async (flags: { server?: string; interfaces?: string; token?: string }) => {
      const client = loadClientConfig(flags, ctx.env);
      if (!client.ok) throw usageError('TRC_CONFIG_INVALID', `invalid configuration:\n  ${client.problems.join('\n  ')}`);
      const loaded = await loadAgentStarter();
      if ('reason' in loaded) throw notAvailableYet('agent', `${loaded.reason} (issue 3, the eBPF agent)`);
      if (loaded.availability) {
        const a = await loaded.availability();
        if (!a.available) throw notAvailableYet('agent', a.reason ?? 'eBPF is not available on this host');
      }
      const logger = createCliLogger('info');
      const agent = await loaded.start({
        serverUrl: client.config.serverUrl,
        interfaces: (flags.interfaces ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
        logger,
        ...(client.config.token ? { token: client.config.token } : {}),
      });
      const stop = (): void => {
        agent.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
