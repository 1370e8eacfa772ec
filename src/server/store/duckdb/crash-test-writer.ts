/**
 * @module A child process for the kill -9 durability test: writes batches forever and prints
 * `ack <batch>` once each write has resolved (the point a receiver would acknowledge).
 *
 * Usage: node --import tsx crash-test-writer.ts DB_PATH SPANS_PER_BATCH
 */
import { emptySpan } from '../../../model/index.js';
import type { SpanRecord } from '../../../model/index.js';
import { openDuckDbStore } from './duckdb-store.js';

/** The spans of batch `b`: deterministic, so the parent can check exactly what was acked. */
export function crashTestBatch(b: number, size: number): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (let i = 0; i < size; i++) {
    out.push({
      ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: 's-p' }),
      spanId: `${b.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}`,
      name: `batch ${b}`,
      service: 'crash-test',
      startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(b * size + i),
      endTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(b * size + i) + 1000n,
      reqTcpSeq: b * size + i + 1,
      xRequestIdReq: `crash-${b}`,
    });
  }
  return out;
}

async function main(): Promise<void> {
  const [path, sizeArg] = process.argv.slice(2);
  if (path === undefined) throw new Error('usage: crash-test-writer DB_PATH SPANS_PER_BATCH');
  const size = Number(sizeArg ?? '100');
  const store = await openDuckDbStore({ path, blockSpans: 256 });
  process.stdout.write('ready\n');
  // Several writes in flight at once, as concurrent receivers would have.
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const b = next++;
      await store.write(crashTestBatch(b, size));
      process.stdout.write(`ack ${b}\n`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
