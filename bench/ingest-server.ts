/**
 * @module The ingest benchmark's server process, in one of three modes on `POST /v1/traces`:
 * `decode` (protobuf decode of the request with the receivers' OTLP types, then answer),
 * `convert` (`decodeOtlpProtobuf`: decode and map to SpanRecords, then answer) or `ingest` (the
 * real `otlpHttpReceiver` plugin into the group-commit pipeline and DuckDB: answers once durable).
 *
 * Mode `floor` serves nothing: it measures what DuckDB alone costs per span for the same rows
 * (stored once by the store, then copied table to table by INSERT … SELECT in commits of
 * WEFT_BENCH_INGEST_FLOOR_BATCH rows, 4000 by default: append, WAL fsync and checkpoints, no
 * JavaScript per value), prints `floor {json}` and exits.
 *
 * Usage: node --import tsx bench/ingest-server.ts MODE DB_DIR. Prints `listening PORT`.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Fastify from 'fastify';
import { decodeOtlpProtobuf, exportRequestType } from '../src/apm/otlp/index.js';
import { otlpHttpReceiver } from '../src/server/ingest/index.js';
import { createIngestPipeline } from '../src/server/ingest/pipeline.js';
import { openDuckDbStore } from '../src/server/store/index.js';
import { CHECKPOINT_THRESHOLD } from '../src/server/store/duckdb/duckdb-store.js';
import { SPAN_TABLE_DDL } from '../src/server/store/duckdb/span-rows.js';
import { otlpProtobufPayload } from './otlp-payload.js';

/** CPU (all threads) and wall time DuckDB needs to append, commit and checkpoint the bench's spans. */
async function duckDbFloor(dir: string): Promise<void> {
  const payload = otlpProtobufPayload(500);
  const src = await openDuckDbStore({ path: join(dir, 'floor-src.duckdb') });
  // 12,000 spans: three commits of the default batch.
  for (let i = 0; i < 24; i++) await src.write(decodeOtlpProtobuf(payload.bytes).spans);
  await src.close();
  const db = await DuckDBInstance.create(join(dir, 'floor.duckdb'), { checkpoint_threshold: CHECKPOINT_THRESHOLD });
  const c = await db.connect();
  await c.run(`ATTACH '${join(dir, 'floor-src.duckdb')}' AS src (READ_ONLY)`);
  await c.run('CREATE TEMP TABLE rows AS SELECT * FROM src.spans ORDER BY ord');
  const have = Number((await c.runAndReadAll('SELECT count(*) FROM rows')).getRows()[0]?.[0]);
  await c.run(SPAN_TABLE_DDL);
  const batch = Number(process.env['WEFT_BENCH_INGEST_FLOOR_BATCH'] ?? 4000);
  const total = 10 * have;
  const cpu = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const cpu0 = cpu();
  const t0 = performance.now();
  for (let done = 0; done < total; done += batch) {
    const from = done % have;
    await c.run('BEGIN TRANSACTION');
    await c.run(`INSERT INTO spans SELECT * FROM rows WHERE ord >= ${from} AND ord < ${Math.min(have, from + batch)}`);
    await c.run('COMMIT');
  }
  await c.run('CHECKPOINT'); // what is still in the WAL is paid for too
  const cpuUs = cpu() - cpu0;
  const wallMs = performance.now() - t0;
  const rows = Number((await c.runAndReadAll('SELECT count(*) FROM spans')).getRows()[0]?.[0]);
  c.closeSync();
  db.closeSync();
  process.stdout.write(`floor ${JSON.stringify({ rows, batch, cpuUsPerSpan: cpuUs / rows, spansPerSec: rows / (wallMs / 1000) })}\n`);
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

async function main(): Promise<void> {
  const [mode = 'ingest', dir = '/tmp/weft-bench-ingest'] = process.argv.slice(2);
  if (mode === 'floor') return duckDbFloor(dir);
  const store = mode === 'ingest' ? await openDuckDbStore({ path: join(dir, 'ingest.duckdb') }) : null;
  const pipeline = store ? createIngestPipeline(store, { maxPendingSpans: 200_000, maxBatchSpans: 50_000 }) : null;
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES });
  if (pipeline) {
    await app.register(otlpHttpReceiver, { sink: pipeline, maxBodyBytes: MAX_BODY_BYTES });
  } else {
    app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const empty = Buffer.alloc(0);
    app.post('/v1/traces', async (req, reply) => {
      const body = req.body as Buffer;
      try {
        if (mode === 'decode') exportRequestType().decode(body);
        else decodeOtlpProtobuf(body);
      } catch (err) {
        return reply.code(400).send(String(err));
      }
      return reply.code(200).type('application/x-protobuf').send(empty);
    });
  }
  app.get('/stats', async () => ({
    pipeline: pipeline?.stats() ?? null,
    index: store?.indexStats() ?? null,
    cpu: process.cpuUsage(),
  }));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${new URL(address).port}\n`);
  process.on('SIGTERM', () => {
    void (async () => {
      await app.close();
      await pipeline?.close();
      await store?.close();
      process.exit(0);
    })();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
