/**
 * @module `weft migrate --from duckdb:PATH --to clickhouse:URL`: copy an embedded store into
 * ClickHouse with a progress bar; run it again after an interruption and it resumes.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { TracingError } from '../model/index.js';
import { DEFAULT_MIGRATION_BATCH_SPANS } from '../server/store/migrate/migration-defaults.js';
import type { MigrationProgress } from '../server/store/migrate/duckdb-to-clickhouse.js';
import { usageError } from './cli-errors.js';
import type { CommandContext } from './command-context.js';

interface MigrateFlags {
  from?: string;
  to?: string;
  cluster?: string;
  batchSpans?: string;
}

const BAR_WIDTH = 30;
/** Without a terminal (logs, CI) a progress line at most this often. */
const PLAIN_INTERVAL_MS = 2_000;

/** `[#########---------]  45.0%  450,000/1,000,000 spans  12,345 spans/s` */
export function progressLine(p: MigrationProgress, spansPerSecond: number): string {
  const frac = p.total === 0 ? 1 : Math.min(1, p.copied / p.total);
  const filled = Math.round(frac * BAR_WIDTH);
  const n = (v: number): string => Math.round(v).toLocaleString('en-US');
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${n(p.copied)}/${n(p.total)} spans  ${n(spansPerSecond)} spans/s`;
}

function parseFlags(flags: MigrateFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): { from: string; to: string; cluster: string | null; batchSpans: number } {
  const problems: string[] = [];
  const from = flags.from ?? '';
  const to = flags.to ?? env.WEFT_STORE ?? '';
  if (!from.startsWith('duckdb:') || from.length === 'duckdb:'.length) problems.push(`--from must be duckdb:PATH (actual: '${from}')`);
  let url = '';
  try {
    const u = new URL(to.startsWith('clickhouse:') ? to.slice('clickhouse:'.length) : '');
    if (u.protocol === 'http:' || u.protocol === 'https:') url = to.slice('clickhouse:'.length);
  } catch {
    // reported below
  }
  if (url === '') problems.push(`--to must be clickhouse:URL with an http:// or https:// URL (actual: '${to}')`);
  const cluster = flags.cluster ?? env.WEFT_CLUSTER ?? null;
  if (cluster !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(cluster)) problems.push(`--cluster must be a ClickHouse cluster name (letters, digits, _) (actual: '${cluster}')`);
  const batchText = flags.batchSpans ?? String(DEFAULT_MIGRATION_BATCH_SPANS);
  const batchSpans = /^\d+$/.test(batchText) ? Number(batchText) : 0;
  if (batchSpans < 1 || batchSpans > 1_000_000) problems.push(`--batch-spans must be an integer 1–1000000 (actual: '${batchText}')`);
  if (problems.length > 0) throw usageError('TRC_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  return { from: resolve(cwd, from.slice('duckdb:'.length)), to: url, cluster, batchSpans };
}

export function migrateCommand(ctx: CommandContext): Command {
  return new Command('migrate')
    .description('copy a DuckDB data dir into ClickHouse, with progress; resumable after an interruption')
    .requiredOption('--from <duckdb:PATH>', 'the DuckDB store file to copy (no server may have it open)')
    .option('--to <clickhouse:URL>', 'the ClickHouse store (env WEFT_STORE)')
    .option('--cluster <name>', 'write through Distributed tables over this ClickHouse cluster (env WEFT_CLUSTER)')
    .option('--batch-spans <n>', 'spans per ClickHouse insert', String(DEFAULT_MIGRATION_BATCH_SPANS))
    .addHelpText(
      'after',
      `
Stop the Weft server that uses the DuckDB file first (DuckDB allows one process). Progress is
recorded in ClickHouse after every acknowledged batch; after an interruption (Ctrl-C, a crash,
ClickHouse away) run the same command again and it continues where it stopped.

Examples:
  $ weft migrate --from duckdb:./weft-data/weft.duckdb --to clickhouse:http://127.0.0.1:8123/weft
  $ weft migrate --from duckdb:/var/lib/weft/weft.duckdb --to clickhouse:http://ch-1:8123/weft --cluster weft`,
    )
    .action(async (flags: MigrateFlags) => {
      const o = parseFlags(flags, ctx.env, ctx.cwd);
      const tty = (ctx.stderr as { isTTY?: boolean }).isTTY === true;
      const started = performance.now();
      let lastPlain = 0;
      let firstCopied = -1;
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      const show = (p: MigrationProgress, final = false): void => {
        if (firstCopied < 0) {
          firstCopied = p.copied;
          if (p.resumedFrom > 0) ctx.stderr.write(`weft: resuming an earlier migration at ${p.resumedFrom.toLocaleString('en-US')} spans\n`);
        }
        const seconds = (performance.now() - started) / 1000;
        const line = progressLine(p, seconds > 0 ? (p.copied - firstCopied) / seconds : 0);
        if (tty) ctx.stderr.write(`\r${line}${final ? '\n' : ''}`);
        else if (final || performance.now() - lastPlain >= PLAIN_INTERVAL_MS) {
          lastPlain = performance.now();
          ctx.stderr.write(`${line}\n`);
        }
      };
      try {
        // Loaded here: both database clients take a third of a second to load, for every command.
        const { migrateDuckDbToClickHouse } = await import('../server/store/migrate/duckdb-to-clickhouse.js');
        const r = await migrateDuckDbToClickHouse({
          from: o.from,
          to: o.to,
          cluster: o.cluster,
          batchSpans: o.batchSpans,
          onProgress: (p) => show(p),
          signal: abort.signal,
        });
        show(r, true);
        if (!r.complete) {
          throw new TracingError('TRC_MIGRATE_INTERRUPTED', 'migration interrupted; run the same command again to resume');
        }
        ctx.stdout.write(`migrated ${r.copied.toLocaleString('en-US')} spans; ClickHouse holds ${r.spansInClickHouse.toLocaleString('en-US')} distinct spans\n`);
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
