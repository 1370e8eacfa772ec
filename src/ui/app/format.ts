/**
 * @module Numbers for people: durations, offsets and wall-clock times, one way everywhere in
 * the UI (the flame graph's axis, the results list, the details panel).
 */

const UNITS: [number, string][] = [
  [3_600_000_000_000, 'h'],
  [60_000_000_000, 'min'],
  [1_000_000_000, 's'],
  [1_000_000, 'ms'],
  [1_000, 'µs'],
];

/** A duration in nanoseconds: `1.23 s`, `45.6 ms`, `789 µs`, `12 ns`. Three significant digits. */
export function formatDuration(ns: number): string {
  const abs = Math.abs(ns);
  for (const [size, unit] of UNITS) {
    if (abs >= size) return `${trimNumber(ns / size)} ${unit}`;
  }
  return `${Math.round(ns)} ns`;
}

function trimNumber(v: number): string {
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return v.toFixed(digits).replace(/\.0+$|(\.\d*?)0+$/, '$1');
}

/** A signed offset (`+3.2 ms`, `-120 µs`): clock corrections. */
export function formatOffset(ns: number): string {
  return `${ns >= 0 ? '+' : '-'}${formatDuration(Math.abs(ns))}`;
}

/** Unix nanoseconds (decimal string) → local `2026-12-03 08:04:23.123`. */
export function formatWallClock(unixNano: string | bigint): string {
  let ns: bigint;
  try {
    ns = typeof unixNano === 'bigint' ? unixNano : BigInt(unixNano);
  } catch {
    return String(unixNano);
  }
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(unixNano);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Unix ms → the value of an `<input type="datetime-local">` (local time, seconds). */
export function toDateTimeLocal(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Axis ticks for a window of `spanNs`: a round step (1, 2 or 5 × 10^k ns) giving about
 * `target` ticks.
 */
export function tickStep(spanNs: number, target: number): number {
  if (!(spanNs > 0) || target <= 0) return 1;
  const raw = spanNs / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    if (m * pow >= raw) return m * pow;
  }
  return 10 * pow;
}

/**
 * An axis label for `t` ns when ticks are `step` ns apart: in the unit that fits `t`, with as
 * many decimals as the step needs, so ticks deep in a zoom stay distinct (600.001 ms, 600.002 ms).
 */
export function formatTick(t: number, step: number): string {
  if (t === 0) return '0';
  const abs = Math.abs(t);
  let size = 1;
  let unit = 'ns';
  for (const [s, u] of UNITS) {
    if (abs >= s) {
      size = s;
      unit = u;
      break;
    }
  }
  const decimals = Math.min(6, Math.max(0, Math.ceil(Math.log10(size / step) - 1e-9)));
  return `${(t / size).toFixed(decimals)} ${unit}`;
}
