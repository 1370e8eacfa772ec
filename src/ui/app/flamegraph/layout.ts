/**
 * @module Icicle layout with lanes: every span gets a row; a child sits below its parent; two
 * subtrees that overlap in time (concurrent calls) are packed into different lanes, so no two
 * bars in a row ever overlap. Each row's spans are then sorted by start AND by end, which lets
 * the renderer binary-search the visible ones.
 *
 * Packing is greedy over each parent's children in start order: a child's whole subtree goes
 * to the first lane offset where every one of its rows starts after what is already placed in
 * that row (a per-row "skyline" of end times). The search tries `MAX_TRIES` offsets and then
 * opens fresh lanes below, which bounds the cost on huge fan-outs (10k concurrent calls) at
 * O(n · MAX_TRIES · height) instead of O(n²).
 *
 * Collapsed spans hide their descendants; the layout is recomputed on collapse (it is linear).
 */
import type { TraceModel } from '../trace/trace-model.js';

const MAX_TRIES = 48;

export interface FlameLayout {
  /** Row of each span; -1 when hidden under a collapsed ancestor. */
  row: Int32Array;
  /** Spans of each row, by start (and so by end). */
  rows: Int32Array[];
  /** Descendants hidden under each collapsed span (0 otherwise). */
  hidden: Int32Array;
  rowCount: number;
}

/**
 * Per relative row of a subtree: [first start, last end] of what it holds there. Stored bottom
 * row first (the subtree's own top row last), so a parent adds its row with a push and a span
 * with one child reuses that child's profile as it is: a chain of n spans costs O(n), not O(n²)
 * copying, and next to no garbage.
 */
interface Profile {
  starts: number[];
  ends: number[];
}

export function layoutFlame(model: TraceModel, collapsed: ReadonlySet<number>): FlameLayout {
  const n = model.count;
  const { start, end, children } = model;
  const offset = new Int32Array(n); // lane offset of a span within its parent's child area
  const hidden = new Int32Array(n);
  const profiles = new Array<Profile | undefined>(n);

  // Post-order without recursion: children are placed before their parent's profile is built.
  const order: number[] = [];
  const stack: number[] = [...model.roots].reverse();
  while (stack.length > 0) {
    const i = stack.pop() as number;
    order.push(i);
    if (collapsed.has(i)) continue;
    const kids = children[i] as number[];
    for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k] as number);
  }
  for (let oi = order.length - 1; oi >= 0; oi--) {
    const i = order[oi] as number;
    const kids = collapsed.has(i) ? [] : (children[i] as number[]);
    if (collapsed.has(i)) hidden[i] = countDescendants(model, i);
    const area = pack(kids, profiles, offset);
    for (const k of kids) profiles[k] = undefined; // free as we go
    area.starts.push(start[i] as number);
    area.ends.push(end[i] as number);
    profiles[i] = area;
  }
  const top = pack(model.roots, profiles, offset);

  // Absolute rows, top-down.
  const row = new Int32Array(n).fill(-1);
  const walk: number[] = [];
  for (const r of model.roots) {
    row[r] = offset[r] as number;
    walk.push(r);
  }
  while (walk.length > 0) {
    const i = walk.pop() as number;
    if (collapsed.has(i)) continue;
    for (const c of children[i] as number[]) {
      row[c] = (row[i] as number) + 1 + (offset[c] as number);
      walk.push(c);
    }
  }
  const rowCount = top.starts.length;
  const counts = new Int32Array(rowCount);
  for (let i = 0; i < n; i++) {
    const r = row[i] as number;
    if (r >= 0) counts[r] = (counts[r] as number) + 1;
  }
  const rows = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(rowCount);
  // Spans in start order, so each row comes out sorted.
  const byStart = Array.from({ length: n }, (_, i) => i).sort((a, b) => (start[a] as number) - (start[b] as number) || a - b);
  for (const i of byStart) {
    const r = row[i] as number;
    if (r < 0) continue;
    (rows[r] as Int32Array)[fill[r] as number] = i;
    fill[r] = (fill[r] as number) + 1;
  }
  return { row, rows, hidden, rowCount };
}

/** Places the subtrees `kids` (in start order) into lanes; returns the area's profile. */
function pack(kids: readonly number[], profiles: (Profile | undefined)[], offset: Int32Array): Profile {
  if (kids.length === 1) {
    // One subtree: it is the whole area, at offset 0 (the caller owns it from here).
    const only = kids[0] as number;
    offset[only] = 0;
    return profiles[only] as Profile;
  }
  const skyline: number[] = []; // max end per relative row, top-down
  const firstStart: number[] = [];
  for (const k of kids) {
    const p = profiles[k] as Profile;
    const h = p.starts.length;
    let at = -1;
    const limit = Math.min(skyline.length, MAX_TRIES);
    for (let o = 0; o <= limit; o++) {
      let fits = true;
      for (let r = 0; r < h; r++) {
        const sky = skyline[o + r];
        if (sky !== undefined && sky > (p.starts[h - 1 - r] as number)) {
          fits = false;
          break;
        }
      }
      if (fits) {
        at = o;
        break;
      }
    }
    if (at === -1) at = skyline.length;
    offset[k] = at;
    for (let r = 0; r < h; r++) {
      const idx = at + r;
      const e = p.ends[h - 1 - r] as number;
      const s = p.starts[h - 1 - r] as number;
      if (skyline[idx] === undefined || (skyline[idx] as number) < e) skyline[idx] = e;
      if (firstStart[idx] === undefined || (firstStart[idx] as number) > s) firstStart[idx] = s;
    }
  }
  // Rows in between that nothing filled (possible after fresh lanes) stay empty intervals.
  const starts: number[] = [];
  const ends: number[] = [];
  for (let r = skyline.length - 1; r >= 0; r--) {
    starts.push(firstStart[r] ?? Infinity);
    ends.push(skyline[r] ?? -Infinity);
  }
  return { starts, ends };
}

function countDescendants(model: TraceModel, i: number): number {
  let count = 0;
  const stack = [...(model.children[i] as number[])];
  while (stack.length > 0) {
    const c = stack.pop() as number;
    count++;
    for (const k of model.children[c] as number[]) stack.push(k);
  }
  return count;
}

/**
 * The first index in a row whose span ends at or after `t` (rows are sorted by end as well as
 * by start, because their spans never overlap).
 */
export function firstVisible(rowSpans: Int32Array, end: Float64Array, t: number): number {
  let lo = 0;
  let hi = rowSpans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((end[rowSpans[mid] as number] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
