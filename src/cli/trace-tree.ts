/**
 * @module Renders a trace from `GET /api/v1/traces/{id}` as an indented tree for the terminal.
 *
 * Pure: JSON in, text out. The response is hostile input (captured names, paths), so control
 * characters are replaced before anything reaches the terminal (an escape sequence in a span
 * name must not drive the user's terminal).
 */

/** The fields of an API span this view reads; everything else is ignored. */
export interface TraceViewSpan {
  id: string;
  parentId: string | null;
  name: string;
  service: string;
  source: string;
  origin?: string;
  observationPoint: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  linkReason: string | null;
  protocol?: string;
  interfaceName?: string;
  /** The wire time from the previous observation point of the same message (NET hops). */
  hop?: { requestNano: string; responseNano: string } | null;
  attributes?: Record<string, unknown>;
  /** Candidates an ambiguous link pointed at (never the parent). */
  possibleParents?: Array<{ spanId: string; service: string; name: string; reason: string; why: string; id: string | null }>;
}

export interface TraceView {
  traceId: string;
  spans: TraceViewSpan[];
  services?: string[];
  warnings?: string[];
}

export interface RenderOptions {
  color: boolean;
}

const ANSI = { dim: '\x1b[2m', bold: '\x1b[1m', cyan: '\x1b[36m', yellow: '\x1b[33m', magenta: '\x1b[35m', reset: '\x1b[0m' };
const NANOS_PER_MS = 1_000_000n;

/** Control characters (C0, DEL, C1) become U+FFFD so captured bytes cannot inject escapes. */
export function terminalSafe(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
}

function isTraceView(v: unknown): v is TraceView {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { traceId?: unknown; spans?: unknown };
  return typeof o.traceId === 'string' && Array.isArray(o.spans);
}

/** Narrows a parsed response body; throws a readable error when it is not a trace. */
export function parseTraceView(body: unknown): TraceView {
  if (!isTraceView(body)) throw new Error('the server answered something that is not a trace ({traceId, spans} expected)');
  return body;
}

/** Milliseconds with three decimals from two decimal nanosecond strings; '?' when unreadable. */
export function formatDuration(startNano: string, endNano: string): string {
  try {
    const d = BigInt(endNano) - BigInt(startNano);
    const whole = d / NANOS_PER_MS;
    const frac = (d < 0n ? -d : d) % NANOS_PER_MS;
    return `${whole}.${String(frac / 1000n).padStart(3, '0')} ms`;
  } catch {
    return '? ms';
  }
}

/** A short duration from decimal nanoseconds: µs below a millisecond, else ms; '?' when unreadable. */
export function formatShort(nano: string): string {
  let n: bigint;
  try {
    n = BigInt(nano);
  } catch {
    return '?';
  }
  const abs = n < 0n ? -n : n;
  const sign = n < 0n ? '-' : '';
  if (abs < NANOS_PER_MS) return `${sign}${abs / 1000n}.${(abs % 1000n) / 100n}µs`;
  return `${sign}${abs / NANOS_PER_MS}.${String((abs % NANOS_PER_MS) / 1000n).padStart(3, '0')}ms`;
}

/** What a NET span says about its hop: interface, wire time from the previous point, TCP trouble. */
export function hopText(s: TraceViewSpan): string {
  const parts: string[] = [];
  if (s.interfaceName) parts.push(`@${s.interfaceName}`);
  if (s.hop) parts.push(`hop ${formatShort(s.hop.requestNano)} → / ${formatShort(s.hop.responseNano)} ←`);
  const a = s.attributes ?? {};
  const mark = (key: string, label: string): void => {
    const v = a[key];
    if (typeof v === 'number' && v > 0) parts.push(`${label} ${v}`);
  };
  mark('weft.tcp.retransmissions', 'retransmissions');
  mark('weft.tcp.zero_windows', 'zero windows');
  mark('weft.tcp.resets', 'resets');
  if (typeof a['weft.tunnel.type'] === 'string') parts.push(`in ${a['weft.tunnel.type']}`);
  if (typeof a['weft.nat.original'] === 'string' && typeof a['weft.nat.translated'] === 'string') parts.push(`NAT ${a['weft.nat.original']} ⇒ ${a['weft.nat.translated']}`);
  return parts.join('  ');
}

function startOf(s: TraceViewSpan): bigint {
  try {
    return BigInt(s.startTimeUnixNano);
  } catch {
    return 0n;
  }
}

/**
 * One line per span, children under parents (siblings by start time), with box-drawing guides.
 * Spans whose parent is not in the response are shown as roots. Each span appears once even if
 * the response had a cycle.
 */
export function renderTraceTree(trace: TraceView, opts: RenderOptions): string {
  const c = (code: keyof typeof ANSI, s: string): string => (opts.color ? `${ANSI[code]}${s}${ANSI.reset}` : s);
  const ids = new Set(trace.spans.map((s) => s.id));
  const children = new Map<string | null, TraceViewSpan[]>();
  for (const s of trace.spans) {
    const parent = s.parentId !== null && ids.has(s.parentId) && s.parentId !== s.id ? s.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  for (const list of children.values()) list.sort((a, b) => (startOf(a) < startOf(b) ? -1 : startOf(a) > startOf(b) ? 1 : 0));

  const services = trace.services ?? [...new Set(trace.spans.map((s) => s.service).filter((s) => s !== ''))].sort();
  const lines: string[] = [
    c('bold', `trace ${terminalSafe(trace.traceId)}`) + `  ${trace.spans.length} spans, ${services.length} services`,
  ];
  const seen = new Set<string>();
  const walk = (parent: string | null, prefix: string): void => {
    const list = children.get(parent) ?? [];
    list.forEach((s, i) => {
      if (seen.has(s.id)) return;
      seen.add(s.id);
      const last = i === list.length - 1;
      const where = `${s.source}/${s.observationPoint}${s.origin ? ` ${s.origin}` : ''}`;
      const link = s.linkReason ? c('magenta', `via ${s.linkReason}`) : c('dim', 'root');
      const hop = s.source === 'net' ? hopText(s) : '';
      lines.push(
        `${prefix}${last ? '└─ ' : '├─ '}${c('bold', terminalSafe(s.name) || '(unnamed)')}  ` +
          `${c('cyan', `[${terminalSafe(s.service) || '?'}]`)}  ${c('yellow', formatDuration(s.startTimeUnixNano, s.endTimeUnixNano))}  ` +
          `${terminalSafe(where)}  ${link}${hop ? `  ${c('dim', terminalSafe(hop))}` : ''}`,
      );
      for (const p of s.possibleParents ?? []) {
        const where = p.id === null ? 'another trace' : 'this trace';
        lines.push(`${prefix}${last ? '   ' : '│  '}${c('dim', `? possible parent (${where}): ${terminalSafe(p.name) || terminalSafe(p.spanId)} [${terminalSafe(p.service) || '?'}] — ${terminalSafe(p.reason)}: ${terminalSafe(p.why)}`)}`);
      }
      walk(s.id, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(null, '');
  // A cycle leaves spans unreached from any root; show them rather than hide them.
  for (const s of trace.spans) if (!seen.has(s.id)) walk(s.parentId, '? ');
  for (const w of trace.warnings ?? []) lines.push(c('yellow', `warning: ${terminalSafe(w)}`));
  return `${lines.join('\n')}\n`;
}
