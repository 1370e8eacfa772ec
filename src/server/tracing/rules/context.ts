/**
 * @module What every link rule shares: the spans, the links made so far, the indexes (built once,
 * on first use), tolerances and hot keys, and the two ways a rule may speak — `link` for a
 * certain parent, `possible` for a candidate that must never become one.
 *
 * A link is only ever added when the child has no parent yet and it closes no cycle, so rules
 * running in order make a forest with every span once. Rules never remove links.
 */
import type { SpanRecord } from '../../../model/index.js';
import { appHost, appProcessId, covers, isHot, isServerSide } from '../link-rules.js';
import type { HotKeys, Tolerances } from '../link-rules.js';
import type { LinkReason, PossibleParent } from '../trace.js';

/** Confidence per kind of evidence: 1 for explicit ids and the same bytes, lower where inferred. */
export const CONFIDENCE = {
  spanId: 1,
  tcpSeq: 1,
  proxyForward: 0.95,
  runtime: 0.95,
  syscallThread: 0.9,
  syscallDirect: 0.9,
  syscallChained: 0.8,
  xRequestIdSameSide: 0.8,
  xRequestIdCrossSide: 0.7,
  traceIdTime: 0.5,
  processTime: 0.4,
} as const;

/** A link rule: one small module that proposes links with their evidence (see rules/index.ts). */
export interface LinkRule {
  /** `NN-name`, as listed in docs/assembly.md. */
  name: string;
  apply(ctx: AssemblyContext): void;
}

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export class AssemblyContext {
  readonly n: number;
  readonly parent: (number | null)[];
  readonly reason: (LinkReason | null)[];
  readonly confidence: (number | null)[];
  readonly possibleParents = new Map<number, PossibleParent[]>();
  readonly warnings: string[] = [];
  /** Why a span could not be linked; a warning only if no later rule links it. */
  readonly unlinkedBecause = new Map<number, string>();
  /** Message chain id per span (set by the message-chain rule; each span its own until then). */
  chainId: number[];
  /** The rule running now, and the rule that made each link or possible parent (for tests and debugging). */
  currentRule = '';
  readonly ruleOf: (string | null)[];
  readonly rulesThatSpoke = new Set<string>();
  private cache = new Map<string, unknown>();

  constructor(
    readonly spans: readonly SpanRecord[],
    readonly tol: Tolerances,
    readonly hot: HotKeys,
  ) {
    this.n = spans.length;
    this.parent = new Array<number | null>(this.n).fill(null);
    this.reason = new Array<LinkReason | null>(this.n).fill(null);
    this.confidence = new Array<number | null>(this.n).fill(null);
    this.chainId = spans.map((_, i) => i);
    this.ruleOf = new Array<string | null>(this.n).fill(null);
  }

  S(i: number): SpanRecord {
    return this.spans[i] as SpanRecord;
  }

  wouldCycle(child: number, parent: number): boolean {
    for (let a: number | null = parent; a !== null; a = this.parent[a] ?? null) if (a === child) return true;
    return false;
  }

  /** Makes `parent` the parent of `child` (certain evidence only). False when not possible. */
  link(child: number, parent: number, reason: LinkReason, confidence: number): boolean {
    if (child === parent || this.parent[child] !== null || this.wouldCycle(child, parent)) return false;
    this.parent[child] = parent;
    this.reason[child] = reason;
    this.confidence[child] = confidence;
    this.ruleOf[child] = this.currentRule;
    this.rulesThatSpoke.add(this.currentRule);
    return true;
  }

  /** Records a candidate parent that the evidence cannot settle; it is shown, never used. */
  possible(child: number, parent: number, reason: LinkReason, confidence: number, why: string): void {
    const l = this.possibleParents.get(child) ?? [];
    if (l.some((p) => p.index === parent)) return;
    l.push({ index: parent, reason, confidence, why });
    this.possibleParents.set(child, l);
    this.rulesThatSpoke.add(this.currentRule);
  }

  /** Says why `child` stays unlinked; shown as a trace warning only if no later rule links it. */
  ambiguous(child: number, message: string): void {
    if (!this.unlinkedBecause.has(child)) this.unlinkedBecause.set(child, message);
  }

  /** A memoised index: built on first use by the rule that needs it, shared by the rest. */
  index<T>(name: string, build: () => T): T {
    if (!this.cache.has(name)) this.cache.set(name, build());
    return this.cache.get(name) as T;
  }

  /** True for a span that is not the continuation of a message chain (no tcp_seq parent). */
  chainHead(i: number): boolean {
    return this.parent[i] === null || this.reason[i] !== 'tcp_seq';
  }

  chainMembers(i: number): number[] {
    const byChain = this.index('chainMembers', () => {
      const m = new Map<number, number[]>();
      for (let k = 0; k < this.n; k++) push(m, this.chainId[k] as number, k);
      return m;
    });
    return byChain.get(this.chainId[i] as number) ?? [];
  }

  chainHasOp(i: number, op: string): boolean {
    return this.chainMembers(i).some((m) => this.S(m).observationPoint === op);
  }

  /** Span indexes by span id. */
  bySpanId(): Map<string, number[]> {
    return this.index('bySpanId', () => {
      const m = new Map<string, number[]>();
      for (let i = 0; i < this.n; i++) if (this.S(i).spanId) push(m, this.S(i).spanId, i);
      return m;
    });
  }

  /** Every s-p, in canonical order. */
  serverProcesses(): number[] {
    return this.index('sps', () => [...Array(this.n).keys()].filter((i) => this.S(i).observationPoint === 's-p'));
  }

  /** Every c-p SYS span, in canonical order. */
  clientProcesses(): number[] {
    return this.index('cps', () => [...Array(this.n).keys()].filter((i) => this.S(i).observationPoint === 'c-p' && this.S(i).source === 'sys'));
  }

  /** s-p by host. */
  spByHost(): Map<string, number[]> {
    return this.index('spByHost', () => {
      const m = new Map<string, number[]>();
      for (const sp of this.serverProcesses()) push(m, this.S(sp).hostId, sp);
      return m;
    });
  }

  /** s-p by process id. */
  spByPid(): Map<number, number[]> {
    return this.index('spByPid', () => {
      const m = new Map<number, number[]>();
      for (const sp of this.serverProcesses()) if (this.S(sp).processId) push(m, this.S(sp).processId, sp);
      return m;
    });
  }

  /**
   * The s-p an APP span can score on (`hostScore` > 0): on its host, or with its pid; in
   * canonical order, as filtering every s-p would give them (without a scan of every s-p per span).
   */
  spMatchingApp(app: SpanRecord): number[] {
    const h = appHost(app);
    const pid = appProcessId(app);
    const byHost = h ? (this.spByHost().get(h) ?? []) : [];
    const byPid = pid ? (this.spByPid().get(pid) ?? []) : [];
    if (byPid.length === 0) return byHost;
    if (byHost.length === 0) return byPid;
    return [...new Set([...byHost, ...byPid])].sort((a, b) => a - b);
  }

  /** s-p by `host|syscallTraceIdReq`. */
  spBySyscallReq(): Map<string, number[]> {
    return this.index('spBySysReq', () => {
      const m = new Map<string, number[]>();
      for (const sp of this.serverProcesses()) {
        const s = this.S(sp);
        if (s.syscallTraceIdReq) push(m, `${s.hostId}|${s.syscallTraceIdReq}`, sp);
      }
      return m;
    });
  }

  /** s-p by `host|syscallTraceIdResp` (old agents only ship response-side ids). */
  spBySyscallResp(): Map<string, number[]> {
    return this.index('spBySysResp', () => {
      const m = new Map<string, number[]>();
      for (const sp of this.serverProcesses()) {
        const s = this.S(sp);
        if (s.syscallTraceIdResp) push(m, `${s.hostId}|${s.syscallTraceIdResp}`, sp);
      }
      return m;
    });
  }

  /** s-p by the header span id it received (its parentSpanId). */
  spByParentSpanId(): Map<string, number[]> {
    return this.index('spByParent', () => {
      const m = new Map<string, number[]>();
      for (const sp of this.serverProcesses()) if (this.S(sp).parentSpanId) push(m, this.S(sp).parentSpanId, sp);
      return m;
    });
  }

  /**
   * Server entries by the header span id they received: the s-p, or the last server-side NIC
   * span of a chain that has no s-p. Built after the message chains exist.
   */
  serverEntriesByParent(): Map<string, number[]> {
    return this.index('serverEntries', () => {
      const m = new Map<string, number[]>();
      for (let i = 0; i < this.n; i++) {
        const s = this.S(i);
        const entry = s.observationPoint === 's-p' || (s.source === 'net' && isServerSide(s.observationPoint) && !this.chainHasOp(i, 's-p'));
        if (entry && s.parentSpanId) push(m, s.parentSpanId, i);
      }
      return m;
    });
  }

  /** Non-APP span indexes by request X-Request-ID. */
  byXRequestIdReq(): Map<string, number[]> {
    return this.index('byXReq', () => {
      const m = new Map<string, number[]>();
      for (let i = 0; i < this.n; i++) {
        const s = this.S(i);
        if (s.source !== 'app' && s.xRequestIdReq) push(m, s.xRequestIdReq, i);
      }
      return m;
    });
  }

  /** Same host, and the same process when both name one. */
  sameProc(a: SpanRecord, b: SpanRecord): boolean {
    return a.hostId !== '' && a.hostId === b.hostId && (a.processId === 0 || b.processId === 0 || a.processId === b.processId);
  }

  /** How well an APP span's host/process match a SYS span's (2 host, +1 pid). */
  hostScore(app: SpanRecord, sys: SpanRecord): number {
    const h = appHost(app);
    const pid = appProcessId(app);
    return (h && h === sys.hostId ? 2 : 0) + (pid && pid === sys.processId ? 1 : 0);
  }

  covers(outer: number, inner: number, tol: bigint): boolean {
    return covers(this.S(outer), this.S(inner), tol);
  }

  isHot(type: Parameters<typeof isHot>[1], value: string | number): boolean {
    return isHot(this.hot, type, value);
  }

  /**
   * Both spans carry a propagated trace id and the ids differ: two requests by their own
   * headers. Never joined through an ambiguous key (DESIGN: correlation keys).
   */
  traceConflict(a: number, b: number): boolean {
    const ta = this.S(a).traceId;
    const tb = this.S(b).traceId;
    return ta !== '' && tb !== '' && ta !== tb;
  }

  /** Picks the best candidate by score (higher first), then latest start, then lowest index. */
  pickBest(cands: readonly number[], score: (i: number) => number = () => 0): number | undefined {
    let best: number | undefined;
    let bestScore = -Infinity;
    for (const c of cands) {
      const sc = score(c);
      if (best === undefined || sc > bestScore) {
        best = c;
        bestScore = sc;
        continue;
      }
      if (sc < bestScore) continue;
      if (this.S(c).startTimeUnixNano > this.S(best).startTimeUnixNano) best = c;
    }
    return best;
  }

  /** A span's name for warnings: its id, else its index. */
  label(i: number): string {
    const s = this.S(i);
    return s.spanId || `#${i}`;
  }
}
