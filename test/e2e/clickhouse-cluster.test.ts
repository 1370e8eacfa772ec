/**
 * @module Scale-out: two ClickHouse servers as a two-shard cluster, two Weft servers with
 * `--cluster`. Real OpenTelemetry SDK services export to Weft A (one of them to Weft B), the real
 * SkyWalking agent to Weft B. The spans land on both shards, each on the shard its sharding key
 * names, and either Weft server assembles a trace split across the shards exactly as a Weft server
 * on DuckDB does from the same spans. A write is on the other shard when it is acknowledged.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySpan } from '../../src/model/index.js';
import { startClickHouseCluster } from '../../src/server/store/clickhouse/testing/clickhouse-process.js';
import type { ClickHouseProcess } from '../../src/server/store/clickhouse/testing/clickhouse-process.js';
import { exited } from './cli-process.js';
import { eventually, getJson, startTestWeft } from './weft-harness.js';
import type { TestWeft, V1Trace } from './weft-harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const OTEL_SERVICE = join(HERE, 'testdata', 'otel-chain-service.cjs');
const SW_PAIR = join(HERE, 'testdata', 'skywalking-pair.cjs');
const CLUSTER = 'weft_e2e';
const SW_SERVICE = 'weft-ch-sw';
const OTEL_TRACES = 6;
/**
 * On a CPU-starved CI machine (several suites, four ClickHouse servers, two cores) one
 * Distributed insert took 2-4 s, and with the default 5 s ack deadline Weft refused spans queued
 * behind it (429, its overload contract); the SDK then dropped them after its retries, so traces
 * came out incomplete. Overload is not what this test is about: its servers wait longer.
 */
const ACK_WAIT_MS = 30_000;

function startOtelService(name: string, endpoint: string, downstream?: number): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // The exporter's 10 s default would give up on a span Weft is still holding for its write (see ACK_WAIT_MS).
    const env = { ...process.env, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: String(ACK_WAIT_MS + 10_000) };
    const child = spawn(process.execPath, [OTEL_SERVICE, name, 'http-proto', endpoint, ...(downstream ? [String(downstream)] : [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}: ${err}`)));
  });
}

/** What must be equal between two assemblies of one trace: every span, its parent and why. */
function shape(t: V1Trace): unknown[] {
  const byId = new Map(t.spans.map((s) => [s.id, s]));
  return t.spans
    .map((s) => ({
      spanId: s.spanId,
      traceId: s.traceId,
      name: s.name,
      service: s.service,
      source: s.source,
      observationPoint: s.observationPoint,
      parentSpanId: s.parentSpanId,
      parent: s.parentId === null ? null : `${byId.get(s.parentId)?.spanId}/${byId.get(s.parentId)?.observationPoint}`,
      linkReason: s.linkReason,
    }))
    .sort((a, b) => (`${a.spanId}/${a.observationPoint}` < `${b.spanId}/${b.observationPoint}` ? -1 : 1));
}

interface SpanSearch {
  spans: { traceId: string; service: string }[];
}

describe('two-shard ClickHouse cluster, two Weft servers', () => {
  let chA: ClickHouseProcess;
  let chB: ClickHouseProcess;
  let weftA: TestWeft;
  let weftB: TestWeft;
  let reference: TestWeft;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [chA, chB] = (await startClickHouseCluster(CLUSTER, 2)) as [ClickHouseProcess, ClickHouseProcess];
    // Each Weft server talks to its own ClickHouse node.
    weftA = await startTestWeft({ store: { kind: 'clickhouse', url: `${chA.url}/weft`, cluster: CLUSTER, retentionDays: null }, maxAckWaitMs: ACK_WAIT_MS });
    weftB = await startTestWeft({ store: { kind: 'clickhouse', url: `${chB.url}/weft`, cluster: CLUSTER, retentionDays: null }, maxAckWaitMs: ACK_WAIT_MS });
    reference = await startTestWeft();
  }, 90_000);

  afterAll(async () => {
    for (const c of children) {
      c.kill('SIGKILL');
      await exited(c);
    }
    await Promise.all([weftA?.close(), weftB?.close(), reference?.close()]);
    await Promise.all([chA?.destroy(), chB?.destroy()]);
  });

  it('OTel SDK (to A and B) and SkyWalking agent (to B): spans on both shards, either server assembles as DuckDB does', async () => {
    // OTel chain a → b → c: a and c export to Weft A, b to Weft B, so each trace arrives through both.
    const c = await startOtelService('ch-svc-c', weftA.urls.otlpHttp);
    const b = await startOtelService('ch-svc-b', weftB.urls.otlpHttp, c.port);
    const a = await startOtelService('ch-svc-a', weftA.urls.otlpHttp, b.port);
    children.push(a.child, b.child, c.child);
    // Several traces: spans shard by a hash of their random ids, so one 5-span trace has all its
    // spans on one shard 1 time in 16 (and the 9 spans of one OTel + one SkyWalking trace all on
    // one shard 1 time in 256: the once-seen "0 rows on shard A"). With 6 traces, one that spans
    // both shards is all but certain, and the test assembles that one.
    const otelTraces: string[] = [];
    for (let i = 0; i < OTEL_TRACES; i++) otelTraces.push(await (await fetch(`http://127.0.0.1:${a.port}/`)).text());
    for (const id of otelTraces) expect(id).toMatch(/^[0-9a-f]{32}$/);
    // Each span is exported when it ends, and a server span ends after its answer is on the wire,
    // so the caller can hold the answer before the span exists: wait until every trace is whole
    // (found through Weft B, which received only b's spans) before the services are stopped.
    let have = '';
    await eventually(
      async () => {
        const got = await Promise.all(otelTraces.map((id) => weftB.server.store.getTrace(id)));
        have = got.map((t) => t.map((s) => `${s.service}/${s.kind}`).sort().join(',')).join(' | ');
        return got.every((t) => t.length >= 5) ? true : null;
      },
      60_000,
      'the OTel traces, 5 spans each',
    ).catch(async (err: Error) => {
      const answers = async (w: TestWeft): Promise<string> =>
        (await (await fetch(`${w.urls.query}/metrics`)).text())
          .split('\n')
          .filter((l) => /^weft_receiver_(requests_total|answer_seconds)\{receiver="otlp_http"/.test(l))
          .join(' ');
      throw new Error(`${err.message}; stored: ${have}; Weft A answers: ${await answers(weftA)}; Weft B answers: ${await answers(weftB)}`);
    });
    for (const x of [a, b, c]) {
      x.child.kill('SIGTERM');
      await exited(x.child);
    }

    const sw = spawn(process.execPath, [SW_PAIR], {
      env: { ...process.env, SW_AGENT_COLLECTOR_BACKEND_SERVICES: weftB.urls.skywalkingGrpc, SW_AGENT_NAME: SW_SERVICE, SW_AGENT_LOGGING_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(sw);
    // Found through Weft A, which received none of the SkyWalking spans itself.
    const swTrace = await eventually(
      async () => {
        const found = await getJson<SpanSearch>(`${weftA.urls.query}/api/v1/spans?service=${SW_SERVICE}&limit=100`);
        const id = found.body?.spans[0]?.traceId;
        if (!id) return null;
        const t = await getJson<V1Trace>(`${weftA.urls.query}/api/v1/traces/${id}`);
        return t.body.spans.length >= 3 ? id : null;
      },
      60_000,
      'the SkyWalking trace through Weft A',
    );

    // Where each span is: every one on exactly the shard its sharding key names (shard A is the
    // cluster's first, slot 0 of cityHash64(trace_id, span_id) % 2), and together all of them.
    const all = await weftA.server.store.findSpans({ limit: 10_000 });
    expect(all.length).toBeGreaterThanOrEqual(OTEL_TRACES * 5 + 3);
    const placement = async (ch: ClickHouseProcess, slot: number): Promise<{ rows: number; misplaced: number; traces: string[] }> => {
      const sql = `SELECT count(), countIf(cityHash64(trace_id, span_id) % 2 != ${slot}), groupUniqArray(trace_id) FROM weft.spans_local FORMAT JSONCompact`;
      const res = await fetch(`${ch.url}/?query=${encodeURIComponent(sql)}`);
      const [[rows, misplaced, traces]] = ((await res.json()) as { data: [[string, string, string[]]] }).data;
      return { rows: Number(rows), misplaced: Number(misplaced), traces };
    };
    const [onA, onB] = [await placement(chA, 0), await placement(chB, 1)];
    expect([onA.misplaced, onB.misplaced]).toStrictEqual([0, 0]);
    expect(onA.rows).toBeGreaterThan(0);
    expect(onB.rows).toBeGreaterThan(0);
    expect(onA.rows + onB.rows).toBe(all.length);
    const split = otelTraces.filter((id) => onA.traces.includes(id) && onB.traces.includes(id));
    expect(split.length).toBeGreaterThan(0);

    // The same spans, read back through the Distributed table, into a Weft server on DuckDB.
    await reference.server.store.write(all);
    for (const traceId of [split[0] as string, swTrace]) {
      const want = await getJson<V1Trace>(`${reference.urls.query}/api/v1/traces/${traceId}`);
      expect(want.status).toBe(200);
      for (const weft of [weftA, weftB]) {
        const got = await getJson<V1Trace>(`${weft.urls.query}/api/v1/traces/${traceId}`);
        expect(got.status).toBe(200);
        expect(shape(got.body)).toStrictEqual(shape(want.body));
      }
    }
    for (const traceId of otelTraces) {
      const otel = await getJson<V1Trace>(`${weftB.urls.query}/api/v1/traces/${traceId}`);
      expect(otel.body.spans).toHaveLength(5);
      expect(otel.body.spans.filter((s) => s.parentId === null)).toHaveLength(1);
    }
  }, 180_000);

  it('a write is on both shards when it is acknowledged (no background forwarding)', async () => {
    // A Distributed insert without insert_distributed_sync is queued on the receiving node's disk
    // and sent to the other shard later; acknowledged must mean the owning shard accepted it.
    const spans = Array.from({ length: 400 }, (_, i) => ({
      ...emptySpan({ source: 'app', origin: 'otlp', observationPoint: 's-app' }),
      traceId: `ack${String(i % 20).padStart(29, '0')}`,
      spanId: (0xac0000000000n + BigInt(i)).toString(16).padStart(16, '0'),
      name: 'ack-check',
      service: 'weft-ch-ack',
      startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n,
      endTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n + 500_000n,
    }));
    const count = async (ch: ClickHouseProcess): Promise<number> => {
      const sql = "SELECT count() FROM weft.spans_local WHERE service = 'weft-ch-ack'";
      return Number((await (await fetch(`${ch.url}/?query=${encodeURIComponent(sql)}`)).text()).trim());
    };
    await weftA.server.store.write(spans);
    const [onA, onB] = [await count(chA), await count(chB)];
    expect(onB).toBeGreaterThan(100); // the other shard's share, there the moment write() resolved
    expect(onA + onB).toBe(spans.length);
  }, 30_000);
});
