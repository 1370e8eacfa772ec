/**
 * @module The ingest benchmark's server process: fastify + OTLP/HTTP protobuf route, in one of
 * three modes — `decode` (decode and answer), `convert` (decode to SpanRecords and answer) or
 * `ingest` (decode, convert, group-commit into DuckDB, answer once durable).
 *
 * Usage: node --import tsx bench/ingest-server.ts MODE DB_DIR. Prints `listening PORT`.
 */
import { join } from 'node:path';
import Fastify from 'fastify';
import { isTracingError } from '../src/model/index.js';
import { createIngestPipeline } from '../src/server/ingest/pipeline.js';
import { openDuckDbStore } from '../src/server/store/index.js';
import { decodeOtlpRequest, decodeOtlpToSpans } from './otlp-decode-baseline.js';

async function main(): Promise<void> {
  const [mode = 'ingest', dir = '/tmp/weft-bench-ingest'] = process.argv.slice(2);
  const store = mode === 'ingest' ? await openDuckDbStore({ path: join(dir, 'ingest.duckdb') }) : null;
  const pipeline = store ? createIngestPipeline(store, { maxPendingSpans: 200_000, maxBatchSpans: 50_000 }) : null;
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const empty = Buffer.alloc(0);
  app.post('/v1/traces', async (req, reply) => {
    const body = req.body as Buffer;
    try {
      if (mode === 'decode') decodeOtlpRequest(body);
      else {
        const spans = decodeOtlpToSpans(body);
        if (pipeline) await pipeline.submit(spans);
      }
    } catch (err) {
      const status = isTracingError(err) ? err.httpStatus : 400;
      return reply.code(status).send(String(err));
    }
    return reply.code(200).type('application/x-protobuf').send(empty);
  });
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
