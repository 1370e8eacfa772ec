/**
 * @module `weft up` as a user starts it, for the UI test and the UI benchmark: a child process
 * running the CLI entry (`src/cli/main.ts` through tsx, as `npx weft` runs its build), every
 * port 0, its own data directory (DuckDB) in a temporary directory, `--no-agent` (the browser
 * tests need no eBPF, and an agent would capture the browser's own requests). Spans go in through
 * the ingest API like any client's: OTLP/HTTP protobuf in Weft form (what the agent ships).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeOtlpRequest } from '../../src/apm/otlp/index.js';
import type { SpanRecord } from '../../src/model/index.js';
import { PORT_FLAGS_ZERO, REPO_ROOT, cliFromSource, exited, startUntilListening } from '../e2e/cli-process.js';

/** Spans per OTLP request: well under the receiver's body limit. */
const POST_BATCH_SPANS = 2000;
const STOP_GRACE_MS = 10_000;
/** How long one batch is retried while the server answers 429/503. */
const INGEST_RETRY_MS = 120_000;

export interface WeftUp {
  urls: { query: string; otlpHttp: string; skywalkingHttp: string };
  child: ChildProcess;
  log(): string;
  /** Posts spans to OTLP/HTTP (protobuf), in batches; throws on any non-200. */
  ingest(spans: readonly SpanRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * `root`: the checkout whose CLI runs (default this one); the UI benchmark runs the previous
 * commit's server from a `git worktree` beside this one's. `built`: run `bin/weft.js` (the
 * compiled dist/, what `npx weft up` runs; the benchmark) instead of the sources through tsx
 * (the tests: always the code under test). tsx's keep-names helper defines a name on every
 * closure it creates, ~0.1 s of a 10k-span trace's assembly that the built server never pays.
 */
export async function startWeftUp(options: { token?: string; root?: string; built?: boolean } = {}): Promise<WeftUp> {
  const data = await mkdtemp(join(tmpdir(), 'weft-ui-up-'));
  const args = ['up', '--no-agent', '--host', '127.0.0.1', '--data', data, ...PORT_FLAGS_ZERO, ...(options.token !== undefined ? ['--token', options.token] : [])];
  const root = options.root ?? REPO_ROOT;
  const nodeArgs =
    options.built === true ? [join(root, 'bin', 'weft.js'), ...args] : options.root === undefined ? cliFromSource(args) : ['--import', 'tsx', join(options.root, 'src', 'cli', 'main.ts'), ...args];
  let started: Awaited<ReturnType<typeof startUntilListening>>;
  try {
    started = await startUntilListening(nodeArgs);
  } catch (err) {
    await rm(data, { recursive: true, force: true });
    throw err;
  }
  const { child, ports, log } = started;
  const urls = { query: `http://127.0.0.1:${ports.query}`, otlpHttp: `http://127.0.0.1:${ports.otlpHttp}`, skywalkingHttp: `http://127.0.0.1:${ports.skywalkingHttp}` };
  const auth: Record<string, string> = options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {};
  return {
    urls,
    child,
    log,
    async ingest(spans) {
      for (let i = 0; i < spans.length; i += POST_BATCH_SPANS) {
        const body = encodeOtlpRequest(spans.slice(i, i + POST_BATCH_SPANS));
        // A busy server refuses with 429 + Retry-After (its back-pressure): retried as an SDK would.
        const deadline = Date.now() + INGEST_RETRY_MS;
        for (;;) {
          const res = await fetch(`${urls.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...auth }, body: body as unknown as BodyInit });
          if (res.status === 200) break;
          const text = await res.text();
          if ((res.status !== 429 && res.status !== 503) || Date.now() > deadline) throw new Error(`OTLP ingest answered ${res.status}: ${text}`);
          const after = Number(res.headers.get('retry-after') ?? 1);
          await new Promise((r) => setTimeout(r, 1000 * (Number.isFinite(after) && after > 0 ? after : 1)));
        }
      }
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited(child);
        clearTimeout(timer);
      }
      await rm(data, { recursive: true, force: true });
    },
  };
}

/** Waits until `GET /api/v1/traces/{id}` holds `spans` spans (ingest is acknowledged before the store has them). */
export async function waitForTrace(queryUrl: string, traceId: string, spans: number, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const res = await fetch(`${queryUrl}/api/v1/traces/${traceId}?compact=true`, { headers });
    if (res.status === 200) {
      const n = ((await res.json()) as { spans: unknown[] }).spans.length;
      if (n >= spans) return;
      last = `${n} spans`;
    } else last = `HTTP ${res.status}`;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`trace ${traceId} did not reach ${spans} spans in ${timeoutMs} ms (last: ${last})`);
}
