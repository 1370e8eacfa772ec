/**
 * @module Drawing the flame graph on a canvas: only the rows on screen, only the spans in the
 * time window (binary search per row), and at most one bar per pixel column for spans too thin
 * to see, so the cost of a frame follows the screen, not the trace (10k or 100k spans alike).
 *
 * Text is drawn with `fillText`, which paints characters and never parses markup, so captured
 * names (`<img onerror=…>`) are harmless here by construction.
 */
import { formatTick, tickStep } from '../format.js';
import { SOURCES } from '../trace/trace-model.js';
import type { TraceModel } from '../trace/trace-model.js';
import type { FlameLayout } from './layout.js';
import { firstVisible } from './layout.js';
import { barColor, CLOCK_COLOR, DIM_ALPHA, ERROR_COLOR, SELECTED_COLOR, TEXT_COLOR } from './palette.js';

export const AXIS_HEIGHT = 22;
export const ROW_HEIGHT = 20;
const BAR_GAP = 1;
const LABEL_MIN_PX = 26;
const TEXT_PAD = 4;
export const TOGGLE_PX = 12;
export const FONT = '11px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';

/** The visible window: time (ns from the trace start) across, pixels down. */
export interface FlameView {
  t0: number;
  t1: number;
  scrollTop: number;
  /** CSS pixels of the drawing area. */
  width: number;
  height: number;
}

export interface FlameMarks {
  selected: number;
  hover: number;
  /** 1 for spans matching the in-trace search; null when no search is active. */
  match: Uint8Array | null;
}

/**
 * Per-span text (owner · name · observation point), built when a bar is first drawn wide
 * enough to carry it: a 100k-span trace pays for the labels on screen, not for all of them.
 */
export function labelsOf(model: TraceModel): (i: number) => string {
  const name = model.text('name');
  const op = model.text('observationPoint');
  const cache = new Array<string | undefined>(model.count);
  return (i) => {
    let l = cache[i];
    if (l === undefined) {
      l = `${model.owner(i)} · ${name(i) || '(no name)'} · ${op(i)}`;
      cache[i] = l;
    }
    return l;
  };
}

export function xOf(view: FlameView, t: number): number {
  return ((t - view.t0) / (view.t1 - view.t0)) * view.width;
}

export function tOf(view: FlameView, x: number): number {
  return view.t0 + (x / view.width) * (view.t1 - view.t0);
}

export interface DrawStats {
  bars: number;
}

export function drawFlame(
  ctx: CanvasRenderingContext2D,
  model: TraceModel,
  layout: FlameLayout,
  labels: (i: number) => string,
  ownerShade: (i: number) => string,
  view: FlameView,
  marks: FlameMarks,
  charWidth: number,
): DrawStats {
  const { width, height } = view;
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  ctx.textBaseline = 'middle';
  const firstRow = Math.max(0, Math.floor(view.scrollTop / ROW_HEIGHT));
  const lastRow = Math.min(layout.rowCount - 1, Math.floor((view.scrollTop + height - AXIS_HEIGHT) / ROW_HEIGHT));
  const { start, end } = model;
  let bars = 0;
  let selectedRect: [number, number, number, number] | null = null;
  for (let r = firstRow; r <= lastRow; r++) {
    const row = layout.rows[r] as Int32Array;
    const y = AXIS_HEIGHT + r * ROW_HEIGHT - view.scrollTop;
    let lastX = -Infinity;
    for (let k = firstVisible(row, end, view.t0); k < row.length; k++) {
      const i = row[k] as number;
      const s = start[i] as number;
      if (s > view.t1) break;
      let x0 = xOf(view, s);
      let x1 = xOf(view, end[i] as number);
      if (x0 < -2) x0 = -2;
      if (x1 > width + 2) x1 = width + 2;
      let w = x1 - x0;
      if (w < 1) {
        // Too thin to see alone: one mark per pixel column stands for all of them.
        if (x0 < lastX) continue;
        w = 1;
      }
      lastX = x0 + w;
      bars++;
      const dim = marks.match !== null && marks.match[i] !== 1;
      ctx.globalAlpha = dim ? DIM_ALPHA : 1;
      ctx.fillStyle = ownerShade(i);
      const h = ROW_HEIGHT - BAR_GAP;
      const bw = w > 2 ? w - BAR_GAP : w;
      ctx.fillRect(x0, y, bw, h);
      if (model.error[i] === 1) {
        ctx.fillStyle = ERROR_COLOR;
        ctx.fillRect(x0, y, Math.min(3, bw), h);
        ctx.fillRect(x0, y + h - 2, bw, 2);
      }
      if (model.clockMoved[i] === 1 && bw > 6) {
        ctx.fillStyle = CLOCK_COLOR;
        ctx.beginPath();
        ctx.moveTo(x0 + bw - 7, y);
        ctx.lineTo(x0 + bw, y);
        ctx.lineTo(x0 + bw, y + 7);
        ctx.fill();
      }
      if (i === marks.hover && i !== marks.selected) {
        ctx.strokeStyle = 'rgba(17,24,39,0.55)';
        ctx.lineWidth = 1;
        ctx.strokeRect(x0 + 0.5, y + 0.5, Math.max(bw - 1, 1), h - 1);
      }
      if (i === marks.selected) selectedRect = [x0, y, bw, h];
      if (bw >= LABEL_MIN_PX) {
        const kids = (model.children[i] as number[]).length;
        let tx = Math.max(x0, 0) + TEXT_PAD;
        const visibleW = Math.min(x0 + bw, width) - Math.max(x0, 0);
        ctx.fillStyle = TEXT_COLOR;
        if (kids > 0 && visibleW > TOGGLE_PX + LABEL_MIN_PX) {
          ctx.fillText(layout.hidden[i] ? '▸' : '▾', tx - 1, y + h / 2);
          tx += TOGGLE_PX - 2;
        }
        const room = Math.floor((Math.max(x0, 0) + visibleW - tx - TEXT_PAD) / charWidth);
        if (room >= 2) {
          let text = labels(i);
          const hidden = layout.hidden[i] as number;
          if (hidden > 0) text = `${text}  (+${hidden} hidden)`;
          if (text.length > room) text = `${text.slice(0, Math.max(1, room - 1))}…`;
          ctx.fillText(text, tx, y + h / 2 + 0.5);
        }
      }
    }
  }
  ctx.globalAlpha = 1;
  if (selectedRect !== null) {
    const [x, y, w, h] = selectedRect;
    ctx.strokeStyle = SELECTED_COLOR;
    ctx.lineWidth = 2;
    ctx.strokeRect(x + 1, y + 1, Math.max(w - 2, 1), h - 2);
  }
  drawAxis(ctx, view);
  return { bars };
}

function drawAxis(ctx: CanvasRenderingContext2D, view: FlameView): void {
  const { width } = view;
  ctx.fillStyle = '#f6f7f9';
  ctx.fillRect(0, 0, width, AXIS_HEIGHT);
  ctx.fillStyle = '#d5d9e0';
  ctx.fillRect(0, AXIS_HEIGHT - 1, width, 1);
  const span = view.t1 - view.t0;
  const step = tickStep(span, Math.max(2, Math.floor(width / 110)));
  const first = Math.ceil(view.t0 / step) * step;
  ctx.fillStyle = '#4b5563';
  ctx.textBaseline = 'middle';
  for (let t = first; t <= view.t1; t += step) {
    const x = Math.round(xOf(view, t)) + 0.5;
    ctx.fillRect(x, AXIS_HEIGHT - 6, 1, 5);
    const label = formatTick(t, step);
    ctx.fillText(label, x + 3, AXIS_HEIGHT / 2 - 1);
  }
}

/** The span under a point (CSS px in the canvas), or -1. Thin bars get a few pixels of slack. */
export function hitTest(model: TraceModel, layout: FlameLayout, view: FlameView, x: number, y: number): number {
  if (y < AXIS_HEIGHT) return -1;
  const r = Math.floor((y - AXIS_HEIGHT + view.scrollTop) / ROW_HEIGHT);
  const row = layout.rows[r];
  if (row === undefined) return -1;
  const slack = (3 / view.width) * (view.t1 - view.t0);
  const t = tOf(view, x);
  let best = -1;
  let bestDist = Infinity;
  for (let k = firstVisible(row, model.end, t - slack); k < row.length; k++) {
    const i = row[k] as number;
    const s = model.start[i] as number;
    if (s > t + slack) break;
    const e = model.end[i] as number;
    const dist = t < s ? s - t : t > e ? t - e : 0;
    if (dist < bestDist) {
      bestDist = dist;
      best = i;
    }
  }
  return best;
}

/** Colour per span (by source and owner), looked up once per source and owner. */
export function shadesOf(model: TraceModel): (i: number) => string {
  const byOwner = new Map<string, string>();
  return (i) => {
    const source = SOURCES[model.source[i] as number] ?? 'app';
    const owner = model.owner(i);
    const key = `${source}\u0000${owner}`;
    let c = byOwner.get(key);
    if (c === undefined) {
      c = barColor(source, owner);
      byOwner.set(key, c);
    }
    return c;
  };
}
