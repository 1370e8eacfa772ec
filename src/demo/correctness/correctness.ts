/**
 * @module The trace-correctness topology and its score (issue 7): many requests in flight through
 * an uninstrumented middle tier, each carrying its own ground truth, and every trace checked.
 *
 *   client (Python, a thread per request, its own traceparent each)
 *     → middle tier: Node.js event loop | Python thread-per-request | nginx (one worker)
 *       → leaf (Node.js, random 1–15 ms)
 *
 * Request k of a run is `GET /work/<run>-<k>`; the middle tier calls the leaf once with the same
 * id in its path. Nothing in the middle tier or the leaf knows about tracing (the middle tier does
 * not forward the traceparent; nginx passes headers through as proxies do). The ground truth is
 * in every hop's path, so a trace opened by its client's trace id can be checked span by span:
 * - correct: exactly its own four spans (client c-p → middle s-p → middle c-p → leaf s-p), each
 *   under the right parent;
 * - missing: only its own spans, each present one under the right parent or at a root (a gap);
 * - wrong: a span of another request, or a span under a wrong parent.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServiceGroup, freePort, startService, type RunningService } from '../services/process-control.js';
import { startNginx } from '../services/real-services.js';

export type MiddleTier = 'node' | 'python' | 'nginx';
export const MIDDLE_TIERS: readonly MiddleTier[] = ['node', 'python', 'nginx'];

const HERE = dirname(fileURLToPath(import.meta.url));
/** The apps are run as they are from src/ (from dist/ too: the path goes back to src). */
const APPS_DIR = join(HERE, '..', '..', '..', 'src', 'demo', 'correctness');

export interface CorrectnessTopology {
  middle: MiddleTier;
  entryPort: number;
  /** Ports of the middle tier and the leaf (the agent's filter). */
  ports: number[];
  services: Record<string, RunningService>;
  stop(): Promise<void>;
}

export async function startCorrectnessTopology(middle: MiddleTier): Promise<CorrectnessTopology> {
  const { dir, services, keep, stop } = createServiceGroup('weft-correctness-');
  try {
    const leafPort = await freePort();
    keep(await startService('leaf', process.execPath, [join(APPS_DIR, 'leaf.mjs')], leafPort, { env: { ...process.env, PORT: String(leafPort) } }));
    let entry: RunningService;
    if (middle === 'node') {
      const port = await freePort();
      // The middle tier is what the Node.js hook is for: never opted out by the caller's environment.
      const { WEFT_NODE_HOOK: _optOut, ...env } = process.env;
      void _optOut;
      entry = keep(await startService('middle', process.execPath, [join(APPS_DIR, 'node-middle.mjs')], port, { env: { ...env, PORT: String(port), LEAF_PORT: String(leafPort) } }));
    } else if (middle === 'python') {
      const port = await freePort();
      entry = keep(await startService('middle', 'python3', [join(APPS_DIR, 'python-middle.py'), String(port), String(leafPort)], port));
    } else {
      const nginx = await startNginx(join(dir, 'nginx'), { upstreamPort: leafPort, addRequestId: false });
      entry = keep({ ...nginx, name: 'middle' });
    }
    return { middle, entryPort: entry.port, ports: [entry.port, leafPort], services, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface SentRequest {
  /** `<run>-<k>`: in every hop's path. */
  id: string;
  traceId: string;
  status: number;
}

/** Sends `count` requests with at most `inFlight` at once; each with its own traceparent. */
export async function sendRequests(entryPort: number, count: number, inFlight: number): Promise<SentRequest[]> {
  const run = randomBytes(4).toString('hex');
  const jobs = Array.from({ length: count }, (_, k) => ({ id: `${run}-${k}`, traceId: randomBytes(16).toString('hex'), span: randomBytes(8).toString('hex') }));
  const input = jobs.map((j) => JSON.stringify({ path: `/work/${j.id}`, traceparent: `00-${j.traceId}-${j.span}-01` })).join('\n') + '\n';
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('python3', [join(APPS_DIR, 'client.py'), '127.0.0.1', String(entryPort), String(inFlight)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`client exited ${code}: ${stderr.slice(-2000)}`))));
    child.stdin.end(input);
  });
  const status = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { path: string; status: number };
    status.set(r.path.split('/').pop() ?? '', r.status);
  }
  return jobs.map((j) => ({ id: j.id, traceId: j.traceId, status: status.get(j.id) ?? 0 }));
}

/** The fields of `/api/v1/traces/{id}` spans the score reads. */
export interface ScoredSpan {
  id: string;
  parentId: string | null;
  linkReason: string | null;
  observationPoint: string;
  source: string;
  processId: number;
  serverPort: number;
  clientPort?: number;
  reqTcpSeq?: number;
  processName?: string;
  threadIdReq?: number;
  requestResource: string;
  attributes?: Record<string, unknown>;
}

export type Outcome = 'correct' | 'missing' | 'wrong';

/** The hop a span is, by where it was seen and which port it served. */
type Hop = 'client' | 'middle-in' | 'middle-out' | 'leaf';

export interface TraceVerdict {
  id: string;
  outcome: Outcome;
  /** Why it is not correct, in words. */
  why: string;
}

/**
 * Scores one trace against its request's ground truth. `ports` are the middle tier's (entry)
 * and the leaf's listening ports.
 */
export function scoreTrace(req: SentRequest, spans: readonly ScoredSpan[], ports: { entry: number; leaf: number }): TraceVerdict {
  // The hop of a span, by where it was seen and which server port it talked to: pids would miss
  // a worker a proxy restarted, ports cannot.
  const hopOf = (s: ScoredSpan): Hop | null => {
    if (s.source !== 'sys') return null;
    if (s.serverPort === ports.leaf) return s.observationPoint === 's-p' ? 'leaf' : s.observationPoint === 'c-p' ? 'middle-out' : null;
    if (s.serverPort === ports.entry) return s.observationPoint === 's-p' ? 'middle-in' : s.observationPoint === 'c-p' ? 'client' : null;
    return null;
  };
  const expectedParent: Record<Hop, Hop | null> = { client: null, 'middle-in': 'client', 'middle-out': 'middle-in', leaf: 'middle-out' };
  const byId = new Map(spans.map((s) => [s.id, s]));
  const seen = new Map<Hop, number>();
  const problems: string[] = [];
  const rooted: string[] = [];
  let gaps = 0;
  for (const s of spans) {
    const hop = hopOf(s);
    if (hop === null) {
      problems.push(`unexpected span ${s.observationPoint} pid ${s.processId} (${s.processName ?? '?'}) ${s.requestResource} ports ${s.clientPort ?? '?'}→${s.serverPort} seq ${s.reqTcpSeq ?? '?'} via ${s.linkReason}`);
      continue;
    }
    seen.set(hop, (seen.get(hop) ?? 0) + 1);
    if (!s.requestResource.endsWith(`/${req.id}`)) problems.push(`${hop} span of another request: ${s.requestResource}`);
    const parent = s.parentId === null ? null : byId.get(s.parentId);
    const want = expectedParent[hop];
    if (parent === null || parent === undefined) {
      if (want !== null) {
        gaps++;
        rooted.push(`${hop}${s.attributes?.['weft.link.evidence'] ? ` (${String(s.attributes['weft.link.evidence'])})` : ''}`);
      }
      continue;
    }
    const got = hopOf(parent);
    if (got !== want) problems.push(`${hop} under ${got ?? parent.observationPoint} (${s.linkReason})`);
  }
  for (const [hop, n] of seen) if (n > 1) problems.push(`${n} ${hop} spans`);
  if (problems.length > 0) return { id: req.id, outcome: 'wrong', why: problems.join('; ') };
  const all = (['client', 'middle-in', 'middle-out', 'leaf'] as const).every((h) => seen.get(h) === 1);
  if (all && gaps === 0) return { id: req.id, outcome: 'correct', why: '' };
  const absent = (['client', 'middle-in', 'middle-out', 'leaf'] as const).filter((h) => !seen.has(h));
  return { id: req.id, outcome: 'missing', why: [absent.length ? `absent: ${absent.join(', ')}` : '', gaps ? `at a root: ${rooted.join(', ')}` : ''].filter((x) => x).join('; ') };
}

export interface Tally {
  correct: number;
  missing: number;
  wrong: number;
  /** A few examples per outcome other than correct. */
  examples: TraceVerdict[];
}

export function tally(verdicts: readonly TraceVerdict[]): Tally {
  const t: Tally = { correct: 0, missing: 0, wrong: 0, examples: [] };
  for (const v of verdicts) {
    t[v.outcome]++;
    if (v.outcome !== 'correct' && t.examples.filter((e) => e.outcome === v.outcome).length < 3) t.examples.push(v);
  }
  return t;
}

/** Fetches a trace by id from a Weft query API; [] when it does not exist (yet). */
export async function fetchTraceSpans(queryUrl: string, traceId: string, token?: string): Promise<ScoredSpan[]> {
  const res = await fetch(`${queryUrl}/api/v1/traces/${traceId}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (res.status !== 200) {
    await res.arrayBuffer();
    return [];
  }
  return ((await res.json()) as { spans: ScoredSpan[] }).spans;
}

/** SYS spans stored since `sinceUnixNano` whose resource ends with one of `ids` (pages of 5000). */
async function countSpansOf(queryUrl: string, ids: ReadonlySet<string>, sinceUnixNano: bigint): Promise<number> {
  const res = await fetch(`${queryUrl}/api/v1/spans?source=sys&limit=5000&start=${sinceUnixNano}`);
  if (res.status !== 200) {
    await res.arrayBuffer();
    return 0;
  }
  const spans = ((await res.json()) as { spans: ScoredSpan[] }).spans;
  return spans.filter((s) => ids.has(s.requestResource.split('/').pop() ?? '')).length;
}

/**
 * Sends the requests, waits until the agent has shipped their spans (four a request, or nothing
 * new for `settleMs`), then opens and scores every trace.
 */
export async function runRound(
  o: { queryUrl: string; topo: CorrectnessTopology; count: number; inFlight: number; settleMs?: number; onWrong?: (evidence: { request: SentRequest; ports: { entry: number; leaf: number }; spans: ScoredSpan[] }) => void },
): Promise<{ sent: SentRequest[]; verdicts: TraceVerdict[]; tally: Tally }> {
  const since = BigInt(Date.now() - 1000) * 1_000_000n;
  const sent = await sendRequests(o.topo.entryPort, o.count, o.inFlight);
  const failed = sent.filter((r) => r.status !== 200);
  if (failed.length > 0) throw new Error(`${failed.length} of ${sent.length} requests failed (e.g. ${failed[0]?.id} status ${failed[0]?.status})`);
  const ports = { entry: o.topo.entryPort, leaf: o.topo.services['leaf']?.port ?? 0 };
  const ids = new Set(sent.map((r) => r.id));
  const settle = o.settleMs ?? 5000;
  let seen = -1;
  let stableSince = Date.now();
  for (;;) {
    const n = await countSpansOf(o.queryUrl, ids, since);
    if (n >= 4 * sent.length) break;
    if (n !== seen) {
      seen = n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > settle) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const verdicts: TraceVerdict[] = [];
  for (const r of sent) {
    const spans = await fetchTraceSpans(o.queryUrl, r.traceId);
    const v = scoreTrace(r, spans, ports);
    if (v.outcome === 'wrong' && o.onWrong) o.onWrong({ request: r, ports, spans });
    verdicts.push(v);
  }
  return { sent, verdicts, tally: tally(verdicts) };
}
