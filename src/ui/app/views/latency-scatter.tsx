/**
 * @module Latency over time for the search results: one dot per trace (x start, y duration,
 * red when it has errors). Dragging a rectangle narrows the search to that time range and
 * duration band; clicking a dot opens its trace. Canvas, so hundreds of dots stay cheap.
 */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { TraceSummary } from '../api/types.js';
import { formatDuration, tickStep } from '../format.js';
import { ERROR_COLOR, SOURCE_COLORS } from '../flamegraph/palette.js';

const HEIGHT = 170;
const PAD = { left: 64, right: 14, top: 10, bottom: 24 };
const DOT_R = 4;

export interface Brush {
  startMs: number;
  endMs: number;
  minNs: number;
  maxNs: number;
}

interface Scales {
  x0: number;
  x1: number;
  y1: number;
  w: number;
  h: number;
}

function scalesOf(traces: readonly TraceSummary[], width: number): Scales {
  const xs = traces.map((t) => Number(BigInt(t.startTimeUnixNano) / 1_000_000n));
  const ys = traces.map((t) => Number(t.durationNano));
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (!(x1 > x0)) {
    x0 -= 30_000;
    x1 += 30_000;
  }
  const pad = (x1 - x0) * 0.03;
  return { x0: x0 - pad, x1: x1 + pad, y1: Math.max(...ys, 1) * 1.1, w: width - PAD.left - PAD.right, h: HEIGHT - PAD.top - PAD.bottom };
}

/** A tick label as precise as the axis needs: minutes, seconds, or seconds with milliseconds. */
function clockLabel(ms: number, spanMs: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanMs < 10_000) return `${hm}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  return spanMs < 120_000 ? `${hm}:${pad(d.getSeconds())}` : hm;
}

export function LatencyScatter(props: { traces: readonly TraceSummary[]; onBrush: (b: Brush) => void; onOpen: (traceId: string) => void }): JSX.Element {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const propsRef = useRef(props);
  propsRef.current = props;
  const brush = useRef<{ x: number; y: number; x2: number; y2: number } | null>(null);

  const draw = (): void => {
    const c = canvasRef.current;
    if (c === null) return;
    const width = c.clientWidth || 600;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(HEIGHT * dpr);
    const ctx = c.getContext('2d');
    if (ctx === null) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, HEIGHT);
    const { traces } = propsRef.current;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#6b7280';
    if (traces.length === 0) {
      ctx.fillText('no traces to plot', PAD.left, HEIGHT / 2);
      return;
    }
    const sc = scalesOf(traces, width);
    // Axes and grid.
    ctx.strokeStyle = '#e5e7eb';
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    const ystep = tickStep(sc.y1, 4);
    for (let v = 0; v <= sc.y1; v += ystep) {
      const y = PAD.top + sc.h - (v / sc.y1) * sc.h;
      ctx.beginPath();
      ctx.moveTo(PAD.left, Math.round(y) + 0.5);
      ctx.lineTo(PAD.left + sc.w, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(v === 0 ? '0' : formatDuration(v), 6, y);
    }
    const xstep = tickStep(sc.x1 - sc.x0, Math.max(2, Math.floor(sc.w / 140)));
    ctx.textBaseline = 'top';
    for (let t = Math.ceil(sc.x0 / xstep) * xstep; t <= sc.x1; t += xstep) {
      const x = PAD.left + ((t - sc.x0) / (sc.x1 - sc.x0)) * sc.w;
      const label = clockLabel(t, sc.x1 - sc.x0);
      ctx.fillText(label, x - ctx.measureText(label).width / 2, PAD.top + sc.h + 6);
    }
    for (const t of traces) {
      const x = PAD.left + ((Number(BigInt(t.startTimeUnixNano) / 1_000_000n) - sc.x0) / (sc.x1 - sc.x0)) * sc.w;
      const y = PAD.top + sc.h - (Number(t.durationNano) / sc.y1) * sc.h;
      ctx.beginPath();
      ctx.arc(x, y, DOT_R, 0, Math.PI * 2);
      ctx.fillStyle = t.errorCount > 0 ? ERROR_COLOR : SOURCE_COLORS.app[2];
      ctx.globalAlpha = 0.8;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    const b = brush.current;
    if (b !== null) {
      ctx.fillStyle = 'rgba(86,135,230,0.15)';
      ctx.strokeStyle = '#5687e6';
      const x = Math.min(b.x, b.x2);
      const y = Math.min(b.y, b.y2);
      ctx.fillRect(x, y, Math.abs(b.x2 - b.x), Math.abs(b.y2 - b.y));
      ctx.strokeRect(x + 0.5, y + 0.5, Math.abs(b.x2 - b.x), Math.abs(b.y2 - b.y));
    }
  };

  useEffect(draw);
  useEffect(() => {
    const c = canvasRef.current;
    if (c === null) return undefined;
    const ro = new ResizeObserver(draw);
    ro.observe(c);
    const pos = (e: MouseEvent): [number, number] => {
      const r = c.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    const onDown = (e: MouseEvent): void => {
      const [x, y] = pos(e);
      brush.current = { x, y, x2: x, y2: y };
      e.preventDefault();
    };
    const onMove = (e: MouseEvent): void => {
      const b = brush.current;
      if (b === null) return;
      [b.x2, b.y2] = pos(e);
      draw();
    };
    const onUp = (e: MouseEvent): void => {
      const b = brush.current;
      brush.current = null;
      if (b === null) return;
      [b.x2, b.y2] = pos(e);
      const { traces } = propsRef.current;
      if (traces.length === 0) return;
      const sc = scalesOf(traces, c.clientWidth || 600);
      if (Math.abs(b.x2 - b.x) < 4 && Math.abs(b.y2 - b.y) < 4) {
        // A click: the nearest dot within reach opens.
        let best: TraceSummary | null = null;
        let bestD = 8;
        for (const t of traces) {
          const x = PAD.left + ((Number(BigInt(t.startTimeUnixNano) / 1_000_000n) - sc.x0) / (sc.x1 - sc.x0)) * sc.w;
          const y = PAD.top + sc.h - (Number(t.durationNano) / sc.y1) * sc.h;
          const d = Math.hypot(x - b.x, y - b.y);
          if (d < bestD) {
            bestD = d;
            best = t;
          }
        }
        draw();
        if (best !== null) propsRef.current.onOpen(best.traceId);
        return;
      }
      const toMs = (x: number): number => sc.x0 + ((Math.min(Math.max(x, PAD.left), PAD.left + sc.w) - PAD.left) / sc.w) * (sc.x1 - sc.x0);
      const toNs = (y: number): number => Math.max(0, ((PAD.top + sc.h - Math.min(Math.max(y, PAD.top), PAD.top + sc.h)) / sc.h) * sc.y1);
      propsRef.current.onBrush({
        startMs: Math.floor(toMs(Math.min(b.x, b.x2))),
        endMs: Math.ceil(toMs(Math.max(b.x, b.x2))),
        minNs: Math.floor(toNs(Math.max(b.y, b.y2))),
        maxNs: Math.ceil(toNs(Math.min(b.y, b.y2))),
      });
      draw();
    };
    c.addEventListener('mousedown', onDown);
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
    return () => {
      ro.disconnect();
      c.removeEventListener('mousedown', onDown);
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
    };
  }, []);

  return <canvas ref={canvasRef} class="scatter" style={{ height: `${HEIGHT}px` }} data-testid="latency-scatter" aria-label="latency over time: drag to narrow the search, click a dot to open its trace" />;
}
