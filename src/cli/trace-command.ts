/** @module `weft trace TRACE_ID`: fetch one assembled trace from a server and print its tree. */
import { Command } from 'commander';
import { TracingError } from '../model/index.js';
import { loadClientConfig } from '../server/config.js';
import { usageError } from './cli-errors.js';
import type { CommandContext } from './command-context.js';
import { parseTraceView, renderTraceTree } from './trace-tree.js';

const REQUEST_TIMEOUT_MS = 30_000;

/** The web UI's deep link to a trace: `http://HOST:16686/trace/ID`. */
export function traceUiUrl(serverUrl: string, traceId: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/trace/${encodeURIComponent(traceId)}`;
}

export function traceCommand(ctx: CommandContext): Command {
  return new Command('trace')
    .description('print one trace as a tree: durations, service, observation point, source and link reason')
    .argument('<traceId>', 'trace id (32 hex characters, or any id the server knows)')
    .option('--server <url>', 'Weft query API (default: http://127.0.0.1:16686; env WEFT_SERVER)')
    .option('--token <secret>', 'Bearer token the server requires (env WEFT_TOKEN); a flag is visible to every local user, prefer WEFT_TOKEN or --token-file')
    .option('--token-file <path>', 'read the token from this file (env WEFT_TOKEN_FILE)')
    .option('--json', 'print the raw JSON answer instead of the tree')
    .addHelpText(
      'after',
      `
Examples:
  $ weft trace 4bf92f3577b34da6a3ce929d0e0e4736
  $ weft trace 4bf92f3577b34da6a3ce929d0e0e4736 --server http://weft:16686 --token-file ~/.weft-token
  $ weft trace 4bf92f3577b34da6a3ce929d0e0e4736 --json | jq '.spans | length'`,
    )
    .action(async (traceId: string, flags: { server?: string; token?: string; tokenFile?: string; json?: boolean }) => {
      const client = loadClientConfig(flags, ctx.env);
      if (!client.ok) throw usageError('TRC_CONFIG_INVALID', `invalid configuration:\n  ${client.problems.join('\n  ')}`);
      const url = `${client.config.serverUrl}/api/v1/traces/${encodeURIComponent(traceId)}`;
      let res: Response;
      try {
        res = await fetch(url, {
          headers: client.config.token ? { authorization: `Bearer ${client.config.token}` } : {},
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        throw new TracingError('TRC_CLI_SERVER_UNREACHABLE', `cannot reach ${client.config.serverUrl}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      const text = await res.text();
      if (!res.ok) {
        let detail = text.slice(0, 300);
        try {
          const body = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
          detail = typeof body.error === 'object' ? (body.error.message ?? detail) : (body.message ?? detail);
        } catch {
          // not JSON: show the start of the text
        }
        throw new TracingError('TRC_CLI_REQUEST_FAILED', `GET ${url} answered ${res.status}: ${detail}`, { httpStatus: res.status === 404 ? 404 : 502 });
      }
      if (flags.json) {
        ctx.stdout.write(`${text}\n`);
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new TracingError('TRC_CLI_REQUEST_FAILED', `GET ${url} answered invalid JSON`, { cause: err });
      }
      const view = parseTraceView(body);
      ctx.stdout.write(renderTraceTree(view, { color: ctx.stdout.isTTY === true }));
      // The same trace in the web UI (the id the server answered with: a span id opens its trace).
      ctx.stdout.write(`open in the UI: ${traceUiUrl(client.config.serverUrl, view.traceId || traceId)}\n`);
    });
}
