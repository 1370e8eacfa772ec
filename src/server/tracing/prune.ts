/**
 * @module Assembly: which trees of the linked forest belong to the trace asked for.
 *
 * The seed tree holds the seed span (a span id asked for), else the most spans with the trace id
 * asked for, else the most spans. Another tree is kept only when it shares a propagated trace id
 * with what is kept (pieces of one trace whose joining hop was not captured). A tree that only
 * shares a link key (a syscall id, an X-Request-ID, a tcp seq) with the kept spans, and was not
 * linked by any rule, is another request's: on a busy keep-alive connection or event loop such
 * keys say "nearby", not "the same request". It is dropped, with a warning.
 */
import type { SpanRecord } from '../../model/index.js';
import type { AssembleOptions } from './assemble.js';

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export function pruneTrees(
  spans: readonly SpanRecord[],
  parent: readonly (number | null)[],
  order: readonly number[],
  options: Pick<AssembleOptions, 'traceId' | 'seedSpanId'>,
): { kept: boolean[]; dropped: number; droppedTrees: number } {
  const rootOf: number[] = new Array<number>(spans.length).fill(0);
  for (const i of order) {
    const p = parent[i];
    rootOf[i] = p === null || p === undefined ? i : (rootOf[p] as number);
  }
  const trees = new Map<number, number[]>();
  for (const i of order) push(trees, rootOf[i] as number, i);
  const kept = spans.map(() => true);
  if (trees.size <= 1) return { kept, dropped: 0, droppedTrees: 0 };

  const treeList = [...trees.entries()];
  const score = ([, m]: [number, number[]]): number => {
    let sc = m.length;
    if (options.traceId) sc += 1_000_000 * m.filter((i) => spans[i]?.traceId === options.traceId).length;
    if (options.seedSpanId && m.some((i) => spans[i]?.spanId === options.seedSpanId)) sc += 1e12;
    return sc;
  };
  let seed = treeList[0] as [number, number[]];
  for (const t of treeList) if (score(t) > score(seed)) seed = t;

  const keptTrees = new Set<number>([seed[0]]);
  const traceIds = new Set<string>();
  const absorb = (members: number[]): void => {
    for (const i of members) {
      const t = spans[i]?.traceId;
      if (t) traceIds.add(t);
    }
  };
  absorb(seed[1]);
  if (options.traceId) traceIds.add(options.traceId);
  let changed = true;
  while (changed) {
    changed = false;
    for (const [root, members] of treeList) {
      if (keptTrees.has(root)) continue;
      const sharesTrace = members.some((i) => {
        const t = spans[i]?.traceId;
        return t !== undefined && t !== '' && traceIds.has(t);
      });
      if (sharesTrace) {
        keptTrees.add(root);
        absorb(members);
        changed = true;
      }
    }
  }
  let dropped = 0;
  let droppedTrees = 0;
  for (const [root, members] of treeList) {
    if (keptTrees.has(root)) continue;
    droppedTrees++;
    for (const i of members) {
      kept[i] = false;
      dropped++;
    }
  }
  return { kept, dropped, droppedTrees };
}
