import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiSpan, apiTrace } from '../trace/trace-fixture.js';
import { buildTraceModel } from '../trace/trace-model.js';
import type { TraceModel } from '../trace/trace-model.js';
import { firstVisible, layoutFlame } from './layout.js';
import type { FlameLayout } from './layout.js';

/** No two spans of a row overlap, rows are sorted, children sit below their parents. */
function checkLayout(m: TraceModel, l: FlameLayout, collapsed: ReadonlySet<number>): void {
  for (const row of l.rows) {
    for (let k = 1; k < row.length; k++) {
      const a = row[k - 1] as number;
      const b = row[k] as number;
      expect(m.end[a] as number).toBeLessThanOrEqual(m.start[b] as number);
    }
  }
  for (let i = 0; i < m.count; i++) {
    const p = m.parent[i] as number;
    let hidden = false;
    for (let q = p; q >= 0; q = m.parent[q] as number) if (collapsed.has(q)) hidden = true;
    if (hidden) expect(l.row[i]).toBe(-1);
    else {
      expect(l.row[i]).toBeGreaterThanOrEqual(0);
      if (p >= 0) expect(l.row[i] as number).toBeGreaterThan(l.row[p] as number);
    }
  }
}

describe('flame layout', () => {
  it('sequential children share a row; concurrent ones get lanes', () => {
    const m = buildTraceModel(
      apiTrace([
        apiSpan('root', null, 0, 100),
        apiSpan('a', 'root', 10, 30),
        apiSpan('b', 'root', 40, 60),
        apiSpan('c', 'root', 45, 90),
        apiSpan('c1', 'c', 50, 80),
      ]),
    );
    const l = layoutFlame(m, new Set());
    const row = (id: string): number => l.row[m.indexOf(id)] as number;
    expect(row('root')).toBe(0);
    expect(row('a')).toBe(1);
    expect(row('b')).toBe(1);
    expect(row('c')).toBe(2); // overlaps b: a lane of its own
    expect(row('c1')).toBe(3);
    expect(l.rowCount).toBe(4);
    checkLayout(m, l, new Set());
  });

  it('collapsing hides the subtree and counts it', () => {
    const m = buildTraceModel(apiTrace([apiSpan('root', null, 0, 100), apiSpan('a', 'root', 10, 30), apiSpan('a1', 'a', 12, 20), apiSpan('a2', 'a1', 13, 14)]));
    const a = m.indexOf('a');
    const l = layoutFlame(m, new Set([a]));
    expect(l.hidden[a]).toBe(2);
    expect(l.rowCount).toBe(2);
    checkLayout(m, l, new Set([a]));
  });

  it('finds the first span of a row that ends at or after a time', () => {
    const m = buildTraceModel(apiTrace([apiSpan('root', null, 0, 100), apiSpan('a', 'root', 10, 20), apiSpan('b', 'root', 30, 40), apiSpan('c', 'root', 50, 60)]));
    const l = layoutFlame(m, new Set());
    const row1 = l.rows[1] as Int32Array;
    expect(firstVisible(row1, m.end, 35e6)).toBe(1);
    expect(firstVisible(row1, m.end, 0)).toBe(0);
    expect(firstVisible(row1, m.end, 61e6)).toBe(3);
  });

  it('holds for any tree, any times, any collapsed set (property)', () => {
    const tree = fc.array(fc.record({ parent: fc.nat(), start: fc.nat({ max: 1000 }), len: fc.nat({ max: 300 }), collapse: fc.boolean() }), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(tree, (nodes) => {
        const spans = nodes.map((n, i) => apiSpan(`s${i}`, i === 0 ? null : `s${n.parent % i}`, n.start, n.start + n.len));
        const m = buildTraceModel(apiTrace(spans));
        const collapsed = new Set(nodes.flatMap((n, i) => (n.collapse ? [i] : [])));
        checkLayout(m, layoutFlame(m, collapsed), collapsed);
      }),
      { numRuns: 200 },
    );
  });

  it('lays out a wide fan-out of 20k concurrent calls in linear time (lanes are searched a bounded number of times)', () => {
    const spans = [apiSpan('root', null, 0, 1000)];
    for (let i = 0; i < 20_000; i++) spans.push(apiSpan(`c${i}`, 'root', 1 + (i % 7) * 0.001, 999));
    const m = buildTraceModel(apiTrace(spans));
    const t = performance.now();
    const l = layoutFlame(m, new Set());
    expect(performance.now() - t).toBeLessThan(8_000);
    expect(l.rowCount).toBe(20_001);
  });
});
