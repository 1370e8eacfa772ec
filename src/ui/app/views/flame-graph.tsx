/**
 * @module The flame graph widget: a mini-map, then a canvas that stays in place (sticky) inside
 * a natively scrolling box, so vertical scrolling is the browser's own (momentum, scrollbar,
 * keys) while time is zoomed and panned here. Drawing happens at most once per animation frame.
 *
 * Input: wheel scrolls rows; Ctrl/⌘+wheel (or a pinch) zooms at the pointer; Shift+wheel or a
 * sideways swipe pans time; dragging pans both; a click selects, a click on ▸/▾ collapses or
 * expands, a double click zooms to the span. Keys: + / - zoom, ← / → pan, 0 resets.
 * On the mini-map a click moves the window there and a drag zooms to the dragged range.
 *
 * The tooltip is set with textContent only.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { JSX } from 'preact';
import { formatDuration } from '../format.js';
import { AXIS_HEIGHT, drawFlame, FONT, hitTest, ROW_HEIGHT, TOGGLE_PX, tOf, xOf } from '../flamegraph/draw-flame.js';
import type { FlameView } from '../flamegraph/draw-flame.js';
import type { FlameLayout } from '../flamegraph/layout.js';
import { drawMinimap, MINIMAP_HEIGHT, renderMinimap } from '../flamegraph/minimap.js';
import { spanOwner } from '../trace/trace-model.js';
import type { TraceModel } from '../trace/trace-model.js';

/** Narrowest window, ns: below this, bars are wider than any screen anyway. */
const MIN_WINDOW_NS = 50;
const ZOOM_STEP = 1.5;
const DRAG_THRESHOLD_PX = 3;

export interface ZoomRequest {
  t0: number;
  t1: number;
  /** Also scroll this span's row into view (-1: leave the scroll alone). */
  reveal: number;
  seq: number;
}

export interface FlameGraphProps {
  model: TraceModel;
  layout: FlameLayout;
  labels: (i: number) => string;
  shades: (i: number) => string;
  selected: number;
  match: Uint8Array | null;
  /** A window to show; applied whenever `seq` changes. */
  zoom: ZoomRequest | null;
  onSelect: (i: number) => void;
  onToggle: (i: number) => void;
  /** The window after a user zoom or pan (the page debounces it into the URL). */
  onView: (t0: number, t1: number) => void;
  /** Frame timings for the benchmark (ms per draw). */
  onFrame?: (ms: number, bars: number) => void;
}

export function FlameGraph(props: FlameGraphProps): JSX.Element {
  const propsRef = useRef(props);
  propsRef.current = props;
  const scrollerRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const spacerRef = useRef<HTMLDivElement>(null);
  const miniRef = useRef<HTMLCanvasElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const view = useRef<FlameView>({ t0: 0, t1: Math.max(props.model.durationNs, 1), scrollTop: 0, width: 800, height: 400 });
  const hover = useRef(-1);
  const frame = useRef(0);
  const charWidth = useRef(6.6);
  const miniImage = useRef<{ image: HTMLCanvasElement; layout: FlameLayout; width: number } | null>(null);
  const lastZoomSeq = useRef(-1);
  const firstDrawn = useRef(false);

  const total = (): number => Math.max(propsRef.current.model.durationNs, 1);

  const draw = (): void => {
    frame.current = 0;
    const canvas = canvasRef.current;
    const mini = miniRef.current;
    if (canvas === null || mini === null) return;
    const p = propsRef.current;
    const dpr = window.devicePixelRatio || 1;
    const v = view.current;
    const ctx = canvas.getContext('2d');
    if (ctx === null) return;
    const t = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const stats = drawFlame(ctx, p.model, p.layout, p.labels, p.shades, v, { selected: p.selected, hover: hover.current, match: p.match }, charWidth.current);
    const mctx = mini.getContext('2d');
    // The first frame shows the flame graph alone; the mini-map (a pass over every span, 0.2 s
    // for 100k on a busy machine) is rendered in the next one.
    const miniLater = !firstDrawn.current && miniImage.current === null;
    if (miniLater) requestAnimationFrame(schedule);
    if (mctx !== null && !miniLater) {
      let cached = miniImage.current;
      if (cached === null || cached.layout !== p.layout || cached.width !== v.width) {
        cached = { image: renderMinimap(p.model, p.layout, p.shades, v.width, dpr), layout: p.layout, width: v.width };
        miniImage.current = cached;
      }
      mctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      drawMinimap(mctx, cached.image, p.model, p.layout, v);
    }
    const ms = performance.now() - t;
    if (!firstDrawn.current) {
      firstDrawn.current = true;
      performance.mark('weft-first-draw', { detail: { bars: stats.bars } });
    }
    // `npm run bench -- ui` collects draw times here; the array exists only when it asks.
    (window as { __weftFrames?: number[] }).__weftFrames?.push(ms);
    p.onFrame?.(ms, stats.bars);
  };

  const schedule = (): void => {
    if (frame.current === 0) frame.current = requestAnimationFrame(draw);
  };

  const setWindow = (t0: number, t1: number, report: boolean): void => {
    const max = total();
    let span = Math.min(Math.max(t1 - t0, MIN_WINDOW_NS), max);
    if (!(span > 0)) span = max;
    let a = t0;
    if (a < 0) a = 0;
    if (a + span > max) a = max - span;
    view.current.t0 = a;
    view.current.t1 = a + span;
    if (report) propsRef.current.onView(view.current.t0, view.current.t1);
    schedule();
  };

  const zoomAt = (x: number, factor: number): void => {
    const v = view.current;
    const t = tOf(v, x);
    const span = (v.t1 - v.t0) * factor;
    const frac = x / v.width;
    setWindow(t - frac * span, t - frac * span + span, true);
  };

  const panPx = (dx: number): void => {
    const v = view.current;
    const dt = (dx / v.width) * (v.t1 - v.t0);
    setWindow(v.t0 + dt, v.t1 + dt, true);
  };

  const revealRow = (i: number): void => {
    const scroller = scrollerRef.current;
    const row = propsRef.current.layout.row[i] ?? -1;
    if (scroller === null || row < 0) return;
    const top = row * ROW_HEIGHT;
    const visible = scroller.clientHeight - AXIS_HEIGHT;
    if (top < scroller.scrollTop || top + ROW_HEIGHT > scroller.scrollTop + visible) scroller.scrollTop = Math.max(0, top - visible / 3);
  };

  // Size, listeners: once per mount.
  useEffect(() => {
    const scroller = scrollerRef.current;
    const canvas = canvasRef.current;
    const mini = miniRef.current;
    if (scroller === null || canvas === null || mini === null) return undefined;
    const measure = canvas.getContext('2d');
    if (measure !== null) {
      measure.font = FONT;
      charWidth.current = measure.measureText('MMMMMMMMMM').width / 10 || 6.6;
    }
    const resize = (): void => {
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(100, scroller.clientWidth);
      const h = Math.max(60, scroller.clientHeight);
      view.current.width = w;
      view.current.height = h;
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
      mini.width = Math.round(w * dpr);
      mini.height = Math.round(MINIMAP_HEIGHT * dpr);
      mini.style.width = `${w}px`;
      mini.style.height = `${MINIMAP_HEIGHT}px`;
      updateSpacer();
      schedule();
    };
    const ro = new ResizeObserver(resize);
    ro.observe(scroller);
    resize();

    const onScroll = (): void => {
      view.current.scrollTop = scroller.scrollTop;
      schedule();
    };
    const onWheel = (e: WheelEvent): void => {
      const rect = canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? view.current.height : 1;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        zoomAt(x, Math.exp(e.deltaY * unit * 0.0025));
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        panPx((e.shiftKey && e.deltaX === 0 ? e.deltaY : e.deltaX) * unit);
      }
    };
    let drag: { x: number; y: number; t0: number; t1: number; top: number; moved: boolean } | null = null;
    const onDown = (e: MouseEvent): void => {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, t0: view.current.t0, t1: view.current.t1, top: scroller.scrollTop, moved: false };
    };
    const onMove = (e: MouseEvent): void => {
      const rect = canvas.getBoundingClientRect();
      if (drag !== null && (e.buttons & 1) === 1) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (!drag.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD_PX) return;
        drag.moved = true;
        const dt = (dx / view.current.width) * (drag.t1 - drag.t0);
        setWindow(drag.t0 - dt, drag.t1 - dt, true);
        scroller.scrollTop = drag.top - dy;
        hideTip();
        return;
      }
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      if (x < 0 || y < 0 || x > rect.width || y > rect.height) return;
      const p = propsRef.current;
      const i = hitTest(p.model, p.layout, view.current, x, y);
      if (i !== hover.current) {
        hover.current = i;
        schedule();
      }
      showTip(i, e.clientX - rect.left, e.clientY - rect.top);
    };
    const onUp = (e: MouseEvent): void => {
      const d = drag;
      drag = null;
      if (d === null || d.moved || e.button !== 0) return;
      const rect = canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      const p = propsRef.current;
      const i = hitTest(p.model, p.layout, view.current, x, y);
      if (i < 0) return;
      const x0 = Math.max(0, xOf(view.current, p.model.start[i] as number));
      if ((p.model.children[i] as number[]).length > 0 && x - x0 <= TOGGLE_PX + 2) p.onToggle(i);
      else p.onSelect(i);
    };
    const onLeave = (): void => {
      hover.current = -1;
      hideTip();
      schedule();
    };
    const onDbl = (e: MouseEvent): void => {
      const rect = canvas.getBoundingClientRect();
      const p = propsRef.current;
      const i = hitTest(p.model, p.layout, view.current, e.clientX - rect.left, e.clientY - rect.top);
      if (i < 0) return;
      zoomToSpan(i);
      p.onSelect(i);
    };
    const onKey = (e: KeyboardEvent): void => {
      if (e.target instanceof HTMLInputElement) return;
      const w = view.current.width;
      if (e.key === '+' || e.key === '=') zoomAt(w / 2, 1 / ZOOM_STEP);
      else if (e.key === '-' || e.key === '_') zoomAt(w / 2, ZOOM_STEP);
      else if (e.key === '0') setWindow(0, total(), true);
      else if (e.key === 'ArrowLeft') panPx(-w / 8);
      else if (e.key === 'ArrowRight') panPx(w / 8);
      else return;
      e.preventDefault();
    };
    // Mini-map: click to move there, drag to zoom to a range.
    let miniDrag: { x: number; moved: boolean } | null = null;
    const miniX = (e: MouseEvent): number => e.clientX - mini.getBoundingClientRect().left;
    const onMiniDown = (e: MouseEvent): void => {
      miniDrag = { x: miniX(e), moved: false };
      e.preventDefault();
    };
    const onMiniMove = (e: MouseEvent): void => {
      if (miniDrag === null) return;
      if (Math.abs(miniX(e) - miniDrag.x) > DRAG_THRESHOLD_PX) miniDrag.moved = true;
    };
    const onMiniUp = (e: MouseEvent): void => {
      const d = miniDrag;
      miniDrag = null;
      if (d === null) return;
      const w = view.current.width;
      const x = miniX(e);
      const tAt = (px: number): number => (Math.min(Math.max(px, 0), w) / w) * total();
      if (d.moved) {
        setWindow(Math.min(tAt(d.x), tAt(x)), Math.max(tAt(d.x), tAt(x)), true);
        return;
      }
      const span = view.current.t1 - view.current.t0;
      const c = tAt(x);
      setWindow(c - span / 2, c + span / 2, true);
      const rowsTotal = propsRef.current.layout.rowCount * ROW_HEIGHT;
      const y = e.clientY - mini.getBoundingClientRect().top;
      scroller.scrollTop = Math.max(0, (y / MINIMAP_HEIGHT) * rowsTotal - scroller.clientHeight / 2);
    };

    scroller.addEventListener('scroll', onScroll, { passive: true });
    scroller.addEventListener('wheel', onWheel, { passive: false });
    canvas.addEventListener('mousedown', onDown);
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
    canvas.addEventListener('mouseleave', onLeave);
    canvas.addEventListener('dblclick', onDbl);
    scroller.addEventListener('keydown', onKey);
    mini.addEventListener('mousedown', onMiniDown);
    window.addEventListener('mousemove', onMiniMove);
    window.addEventListener('mouseup', onMiniUp);
    return () => {
      ro.disconnect();
      scroller.removeEventListener('scroll', onScroll);
      scroller.removeEventListener('wheel', onWheel);
      canvas.removeEventListener('mousedown', onDown);
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
      canvas.removeEventListener('mouseleave', onLeave);
      canvas.removeEventListener('dblclick', onDbl);
      scroller.removeEventListener('keydown', onKey);
      mini.removeEventListener('mousedown', onMiniDown);
      window.removeEventListener('mousemove', onMiniMove);
      window.removeEventListener('mouseup', onMiniUp);
      if (frame.current !== 0) cancelAnimationFrame(frame.current);
      frame.current = 0;
    };
    // The listeners read everything through refs, so they are installed once.
  }, []);

  function updateSpacer(): void {
    const scroller = scrollerRef.current;
    const spacer = spacerRef.current;
    if (scroller === null || spacer === null) return;
    const content = AXIS_HEIGHT + propsRef.current.layout.rowCount * ROW_HEIGHT + ROW_HEIGHT;
    spacer.style.height = `${Math.max(0, content - scroller.clientHeight)}px`;
  }

  function zoomToSpan(i: number): void {
    const m = propsRef.current.model;
    const s = m.start[i] as number;
    const e = m.end[i] as number;
    const pad = Math.max((e - s) * 0.05, MIN_WINDOW_NS);
    setWindow(s - pad, e + pad, true);
    revealRow(i);
  }

  function hideTip(): void {
    const tip = tipRef.current;
    if (tip !== null) tip.hidden = true;
  }

  function showTip(i: number, x: number, y: number): void {
    const tip = tipRef.current;
    if (tip === null) return;
    const p = propsRef.current;
    if (i < 0 || i >= p.model.count) {
      tip.hidden = true;
      return;
    }
    const s = p.model.span(i);
    const lines = [
      `${spanOwner(s)} · ${s.name || '(no name)'}`,
      `${s.source.toUpperCase()} ${s.observationPoint}${s.protocol ? ` · ${s.protocol}` : ''}${s.linkReason ? ` · via ${s.linkReason}` : ''}`,
      `${formatDuration((p.model.end[i] as number) - (p.model.start[i] as number))} (self ${formatDuration(p.model.selfNs[i] as number)}) at +${formatDuration(p.model.start[i] as number)}`,
    ];
    if (s.requestResource && s.requestResource !== s.name) lines.push(s.requestResource.length > 160 ? `${s.requestResource.slice(0, 160)}…` : s.requestResource);
    if (p.model.error[i] === 1) lines.push(`error: ${s.responseStatus}${s.responseCode !== null ? ` ${s.responseCode}` : ''}${s.statusMessage ? ` ${s.statusMessage}` : ''}`);
    if (s.clockOffsetNano !== '0') lines.push('clock-corrected');
    tip.textContent = lines.join('\n');
    tip.hidden = false;
    const w = view.current.width;
    tip.style.left = `${Math.min(x + 14, Math.max(0, w - 380))}px`;
    tip.style.top = `${y + MINIMAP_HEIGHT + 18}px`;
  }

  // A new layout (collapse, new trace): resize the scroll area and redraw.
  useEffect(() => {
    updateSpacer();
    schedule();
  });

  // A requested window (deep link, zoom to span, reset).
  useEffect(() => {
    const z = props.zoom;
    if (z === null || z.seq === lastZoomSeq.current) return;
    lastZoomSeq.current = z.seq;
    setWindow(z.t0, z.t1, false);
    if (z.reveal >= 0) revealRow(z.reveal);
  }, [props.zoom]);

  return (
    <div class="flame">
      <canvas ref={miniRef} class="flame-minimap" aria-label="mini-map of the whole trace: click to move, drag to zoom" />
      <div ref={scrollerRef} class="flame-scroller" tabIndex={0} aria-label="flame graph: wheel scrolls, Ctrl+wheel zooms, Shift+wheel pans, click selects">
        <canvas ref={canvasRef} class="flame-canvas" data-testid="flame-canvas" />
        <div ref={spacerRef} class="flame-spacer" />
      </div>
      <div ref={tipRef} class="flame-tip" hidden role="tooltip" />
    </div>
  );
}
