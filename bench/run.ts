/**
 * @module `npm run bench [-- SUITE...]`: runs the named benchmark suites (all by default) and
 * prints their results as JSON lines after the progress log.
 */
import { runIngestBench } from './ingest.js';
import { runStoreBench } from './store.js';

const SUITES: Record<string, (log: (line: string) => void) => Promise<unknown>> = {
  store: runStoreBench,
  ingest: runIngestBench,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = asked.length > 0 ? asked : Object.keys(SUITES);
  for (const n of names) {
    if (!SUITES[n]) {
      process.stderr.write(`unknown bench suite "${n}"; known: ${Object.keys(SUITES).join(', ')}\n`);
      process.exit(2);
    }
  }
  for (const n of names) {
    const log = (line: string): void => void process.stderr.write(`[${n}] ${line}\n`);
    log('start');
    const result = await (SUITES[n] as (log: (line: string) => void) => Promise<unknown>)(log);
    process.stdout.write(`${JSON.stringify({ suite: n, result })}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
