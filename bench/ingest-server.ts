/**
 * @module The ingest benchmark's server process, in one of three modes on `POST /v1/traces`:
 * `decode` (protobuf decode of the request with the receivers' OTLP types, then answer),
 * `convert` (`decodeOtlpProtobuf`: decode and map to SpanRecords, then answer) or `ingest` (the
 * real `otlpHttpReceiver` plugin into the group-commit pipeline and DuckDB: answers once durable).
 *
 * Usage: node --import tsx bench/ingest-server.ts MODE DB_DIR. Prints `listening PORT`.
 */
import { join } from 'node:path';
import Fastify from 'fastify';
import { decodeOtlpProtobuf, exportRequestType } from '../src/apm/otlp/index.js';
import { otlpHttpReceiver } from '../src/server/ingest/index.js';
import { createIngestPipeline } from '../src/server/ingest/pipeline.js';
import { openDuckDbStore } from '../src/server/store/index.js';

const MAX_BODY_BYTES = 64 * 1024 * 1024;

async function main(): Promise<void> {
  const [mode = 'ingest', dir = '/tmp/weft-bench-ingest'] = process.argv.slice(2);
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
