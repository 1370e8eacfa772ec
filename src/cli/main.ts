/**
 * @module The `weft` command line: one subcommand per file, no domain logic here.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { secretQueryParamsFromEnv, setSecretQueryParams } from '../model/index.js';
import { agentCommand } from './agent-command.js';
import { exitCodeOf, messageOf } from './cli-errors.js';
import type { CommandContext } from './command-context.js';
import { demoCommand } from './demo-command.js';
import { importPcapCommand } from './import-pcap-command.js';
import { migrateCommand } from './migrate-command.js';
import { serverCommand } from './server-command.js';
import { traceCommand } from './trace-command.js';
import { upCommand } from './up-command.js';

/** The package's version: package.json sits two levels above src/cli and dist/cli alike. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function buildProgram(ctx: CommandContext): Command {
  return new Command('weft')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureOutput({ writeOut: (s) => void ctx.stdout.write(s), writeErr: (s) => void ctx.stderr.write(s) })
    .description('Full-stack distributed tracing: APP spans (OpenTelemetry, SkyWalking, Zipkin), SYS spans (eBPF) and NET spans (packets) in one trace.')
    .addHelpText(
      'after',
      `
Examples:
  $ weft up                      server + UI + local agent; UI at http://127.0.0.1:16686/
  $ weft server --store memory   server only
  $ weft trace <traceId>         print a trace as a tree
  $ weft <command> --help        options of one command`,
    )
    .showHelpAfterError()
    .addCommand(upCommand(ctx))
    .addCommand(serverCommand(ctx))
    .addCommand(agentCommand(ctx))
    .addCommand(importPcapCommand(ctx))
    .addCommand(migrateCommand(ctx))
    .addCommand(traceCommand(ctx))
    .addCommand(demoCommand(ctx));
}

/** Runs the CLI; resolves with the exit code for commands that finish (servers keep running). */
export async function main(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const program = buildProgram(ctx).exitOverride();
  // Which query parameters' values spans never carry (agent, receivers, import-pcap).
  setSecretQueryParams(secretQueryParamsFromEnv(ctx.env));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    ctx.stderr.write(`${messageOf(err)}\n`);
    return exitCodeOf(err);
  }
}

// Run when executed directly (bin/weft.js, or `node --import tsx src/cli/main.ts`).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ctx: CommandContext = { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
  main(process.argv.slice(2), ctx).then(
    (code) => {
      if (code !== 0) process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${messageOf(err)}\n`);
      process.exitCode = 1;
    },
  );
}
