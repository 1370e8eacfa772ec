/**
 * @module The mini-map: the whole trace squeezed into a strip (all rows, all time), drawn once
 * per layout into an offscreen canvas, with the visible window drawn over it each frame.
 */
import type { TraceModel } from '../trace/trace-model.js';
import type { FlameLayout } from './layout.js';
import { AXIS_HEIGHT, ROW_HEIGHT } from './draw-flame.js';
import type { FlameView } from './draw-flame.js';
import { ERROR_COLOR } from './palette.js';

export const MINIMAP_HEIGHT = 64;

/** Renders the overview at device resolution; reused until the layout or width changes. */
export function renderMinimap(model: TraceModel, layout: FlameLayout, shades: (i: number) => string, widthCss: number, dpr: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(widthCss * dpr));
  c.height = Math.round(MINIMAP_HEIGHT * dpr);
  const ctx = c.getContext('2d');
  if (ctx === null) return c;
  const total = model.durationNs || 1;
  const rowH = c.height / Math.max(layout.rowCount, 1);
  const h = Math.max(rowH - (rowH > 3 ? 1 : 0), 0.5);
  for (let r = 0; r < layout.rowCount; r++) {
    const row = layout.rows[r] as Int32Array;
    const y = r * rowH;
    let lastX = -1;
    for (let k = 0; k < row.length; k++) {
      const i = row[k] as number;
      const x0 = ((model.start[i] as number) / total) * c.width;
      const w = Math.max(1, (((model.end[i] as number) - (model.start[i] as number)) / total) * c.width);
      if (w <= 1 && x0 < lastX) continue;
      lastX = x0 + w;
      ctx.fillStyle = model.error[i] === 1 ? ERROR_COLOR : shades(i);
      ctx.fillRect(x0, y, w, h);
    }
  }
  return c;
}

/** The overview plus the window the flame graph shows. */
export function drawMinimap(ctx: CanvasRenderingContext2D, image: HTMLCanvasElement, model: TraceModel, layout: FlameLayout, view: FlameView): void {
  const w = view.width;
  ctx.clearRect(0, 0, w, MINIMAP_HEIGHT);
  ctx.fillStyle = '#f6f7f9';
  ctx.fillRect(0, 0, w, MINIMAP_HEIGHT);
  ctx.drawImage(image, 0, 0, w, MINIMAP_HEIGHT);
  const total = model.durationNs || 1;
  const x0 = (view.t0 / total) * w;
  const x1 = (view.t1 / total) * w;
  const rowsTotal = Math.max(layout.rowCount, 1) * ROW_HEIGHT;
  const y0 = (view.scrollTop / rowsTotal) * MINIMAP_HEIGHT;
  const y1 = Math.min(MINIMAP_HEIGHT, ((view.scrollTop + view.height - AXIS_HEIGHT) / rowsTotal) * MINIMAP_HEIGHT);
  // Shade what is outside the window, outline the window.
  ctx.fillStyle = 'rgba(15, 23, 42, 0.28)';
  ctx.fillRect(0, 0, Math.max(0, x0), MINIMAP_HEIGHT);
  ctx.fillRect(Math.min(w, x1), 0, Math.max(0, w - x1), MINIMAP_HEIGHT);
  ctx.strokeStyle = '#111827';
  ctx.lineWidth = 1.5;
  ctx.strokeRect(Math.max(0, x0) + 0.75, Math.max(0, y0) + 0.75, Math.max(2, Math.min(w, x1) - Math.max(0, x0) - 1.5), Math.max(2, y1 - Math.max(0, y0) - 1.5));
}
