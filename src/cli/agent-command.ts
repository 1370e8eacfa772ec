/** @module `weft agent`: capture on this host and ship spans to a (remote) Weft server. */
import { Command } from 'commander';
import { agentUnavailable, usageError } from './cli-errors.js';
import type { CommandContext } from './command-context.js';
import { loadAgentClientConfig } from '../server/config.js';

export function agentCommand(ctx: CommandContext): Command {
  return new Command('agent')
    .description('capture SYS spans (eBPF) here and send them as OTLP to a Weft server')
    .option('--server <url>', "the server's OTLP/HTTP endpoint (default: http://127.0.0.1:4318; env WEFT_SERVER)")
    .option('--interfaces <nics>', 'comma-separated interfaces or patterns to capture frames on for NET spans, e.g. veth*,br*,eth0,vxlan*; interfaces that appear later are picked up (default: none)')
    .option('--netns <names>', 'comma-separated network namespaces (names in /run/netns, or paths like /proc/PID/ns/net) whose interfaces to capture on, instead of this one')
    .option('--no-syscalls', 'capture frames only, no system calls (another agent traces this kernel\'s processes)')
    .option('--sys-namespaces <all|node>', 'whose system calls: all processes (default), or only those in the node\'s network namespaces (--netns or this one, and the pods behind their container veths), when nodes share a kernel')
    .option('--token <secret>', 'Bearer token the server requires (env WEFT_TOKEN); a flag is visible to every local user, prefer WEFT_TOKEN or --token-file')
    .option('--token-file <path>', 'read the token from this file (env WEFT_TOKEN_FILE)')
    .option('--log-level <level>', 'log level (default: info)')
    .option('--no-node-hook', 'do not hook Node.js servers through their inspector to link outbound calls to inbound requests (env WEFT_NODE_HOOK=0)')
    .addHelpText(
      'after',
      `
Examples:
  $ sudo weft agent --server http://weft.internal:4318 --interfaces eth0,eth1
  $ sudo weft agent --server http://10.0.0.5:4318 --token-file /etc/weft/token
  $ sudo weft agent --interfaces 'veth*,br*,vxlan*,eth0' --netns node1 --no-syscalls
  $ sudo weft agent --interfaces 'veth*,br*,vxlan*,eth0' --netns node1 --sys-namespaces node

Observation points are inferred per interface (container veth c/s, bridge, tunnel and uplink
c-nd/s-nd, a translating hop c-gw/s-gw): see docs/network-path.md.`,
    )
    .action(async (flags: { server?: string; interfaces?: string; netns?: string; syscalls?: boolean; sysNamespaces?: string; token?: string; tokenFile?: string; logLevel?: string; nodeHook?: boolean }) => {
      const client = loadAgentClientConfig(flags, ctx.env);
      if (!client.ok) throw usageError('TRC_CONFIG_INVALID', `invalid configuration:\n  ${client.problems.join('\n  ')}`);
      const sysNamespaces = flags.sysNamespaces ?? 'all';
      if (sysNamespaces !== 'all' && sysNamespaces !== 'node') throw usageError('TRC_CONFIG_INVALID', `invalid configuration:\n  --sys-namespaces must be all|node (actual: '${sysNamespaces}')`);
      // Loaded on use: the agent pulls in the native addon.
      const { agentUnavailableReason, startLocalAgent } = await import('./local-agent.js');
      const reason = agentUnavailableReason();
      if (reason !== null) throw agentUnavailable(reason);
      const { createCliLogger } = await import('./logger.js');
      const logger = createCliLogger(client.config.logLevel);
      if (flags.token !== undefined) logger.warn('--token on the command line is visible to every local user (ps, /proc/PID/cmdline); use WEFT_TOKEN or --token-file instead');
      const result = await startLocalAgent({
        serverUrl: client.config.serverUrl,
        interfaces: client.config.interfaces,
        netns: (flags.netns ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''),
        syscalls: flags.syscalls !== false,
        sysNamespaces,
        nodeHook: client.config.nodeHook,
        logger: logger.child({ component: 'agent' }),
        ...(client.config.token ? { token: client.config.token } : {}),
      });
      if (!result.started) throw agentUnavailable(result.reason);
      const agent = result.agent;
      logger.info({ server: client.config.serverUrl }, `weft agent shipping to ${client.config.serverUrl}`);
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
