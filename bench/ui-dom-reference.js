// The reference for `npm run bench -- ui`: the same trace as a plain DOM timeline, one row of
// elements per span (indented label + positioned bar), the approach of list-based trace views.
// Scrolling is the page's own; zooming rewrites every bar's position, as such a view must.
// Marks 'dom-first-draw' once the rows are in the document and laid out (next animation frame).
(async () => {
  const id = decodeURIComponent(location.pathname.split('/').pop());
  const trace = await (await fetch(`/api/v1/traces/${encodeURIComponent(id)}?compact=true`)).json();
  const spans = trace.spans;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of spans) {
    s._a = Number(BigInt(s.startTimeUnixNano));
    s._b = Number(BigInt(s.endTimeUnixNano));
    if (s._a < t0) t0 = s._a;
    if (s._b > t1) t1 = s._b;
  }
  const byId = new Map(spans.map((s) => [s.id, s]));
  const kids = new Map();
  const roots = [];
  for (const s of spans) {
    const p = s.parentId === null ? undefined : byId.get(s.parentId);
    if (p === undefined) roots.push(s);
    else (kids.get(p.id) ?? kids.set(p.id, []).get(p.id)).push(s);
  }
  const order = [];
  const stack = roots.reverse().map((s) => [s, 0]);
  while (stack.length > 0) {
    const [s, d] = stack.pop();
    order.push([s, d]);
    for (const c of (kids.get(s.id) ?? []).slice().reverse()) stack.push([c, d + 1]);
  }
  document.body.style.margin = '0';
  document.body.style.font = '12px system-ui, sans-serif';
  const list = document.createElement('div');
  const colors = { app: '#6c9bf0', sys: '#f2aa55', net: '#4fc095' };
  const width = 1000;
  let scale = 1;
  let offset = 0;
  const bars = [];
  for (const [s, d] of order) {
    const row = document.createElement('div');
    row.style.cssText = 'display:flex;height:20px;align-items:center;border-bottom:1px solid #eee';
    const label = document.createElement('div');
    label.style.cssText = `width:420px;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;padding-left:${4 + d * 10}px`;
    label.textContent = `${s.service || 'net'} ${s.name} ${s.observationPoint}`;
    const lane = document.createElement('div');
    lane.style.cssText = `position:relative;width:${width}px;height:14px;overflow:hidden`;
    const bar = document.createElement('div');
    bar.style.cssText = `position:absolute;top:0;height:14px;background:${colors[s.source]}`;
    lane.appendChild(bar);
    row.append(label, lane);
    list.appendChild(row);
    bars.push([bar, s]);
  }
  const place = () => {
    const span = (t1 - t0) / scale;
    for (const [bar, s] of bars) {
      bar.style.left = `${((s._a - t0 - offset) / span) * width}px`;
      bar.style.width = `${Math.max(1, ((s._b - s._a) / span) * width)}px`;
    }
  };
  place();
  document.body.appendChild(list);
  void list.offsetHeight;
  requestAnimationFrame(() => performance.mark('dom-first-draw'));
  window.__domZoom = (factor) => {
    const t = performance.now();
    scale *= factor;
    offset = ((t1 - t0) - (t1 - t0) / scale) * 0.4;
    place();
    void list.offsetHeight;
    window.__domWork?.push(performance.now() - t);
  };
})();
