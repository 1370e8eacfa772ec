/**
 * @module JSON.parse of a large body in bounded steps: the same value (or the same failure) as
 * `JSON.parse(utf8 text)`, built in steps of about STEP_BYTES of input, so a 10 MB OTLP/JSON,
 * Zipkin or SkyWalking body does not hold the event loop for one ~100 ms parse.
 *
 * How: containers larger than `pieceBytes` (the request, `resourceSpans`, a `spans` array) are
 * walked here, member by member; every other value (a span object, a string, a number) is one
 * small `JSON.parse` of its own bytes, so the native parser still does nearly all the work.
 * A first pass over the bytes (strings and escapes respected) finds where each large container
 * ends; the second walks them, checking the grammar between members (commas, colons, the
 * closing bracket), while `JSON.parse` checks everything inside a piece. Every byte is checked
 * by one of the two, so bad JSON fails as it would whole.
 *
 * Containers nested deeper than MAX_WALK_DEPTH are parsed whole whatever their size (no body
 * of the formats nests its large lists that deep; a hostile deep one costs what JSON.parse
 * costs, and the scan keeps no per-level state past that depth).
 */

/**
 * Bytes of input per step, about: a fraction of a millisecond of JSON.parse on an idle core (a
 * step that triggers a GC pause lasts the pause; the objects made are what they are either way).
 */
const STEP_BYTES = 32 * 1024;
/** Containers larger than this are walked in steps; smaller values are one JSON.parse each. */
const PIECE_BYTES = 32 * 1024;
const MAX_WALK_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export interface JsonStepsOptions {
  /** Containers larger than this many bytes are walked (default PIECE_BYTES; tests use tiny ones). */
  pieceBytes?: number;
  stepBytes?: number;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function unexpected(bytes: Uint8Array, at: number): SyntaxError {
  return new SyntaxError(at >= bytes.length ? 'Unexpected end of JSON input' : `Unexpected character ${JSON.stringify(String.fromCharCode(bytes[at] ?? 0))} in JSON at position ${at}`);
}

interface Frame {
  array: boolean;
  value: unknown[] | Record<string, unknown>;
  /** Offset of the closing bracket. */
  end: number;
  /** The member's key while its value is built (objects). */
  key: string;
  members: number;
}

/** Parses `bytes` (UTF-8 JSON) in steps; returns what JSON.parse would, or throws its SyntaxError. */
export function* parseJsonSteps(bytes: Uint8Array, options: JsonStepsOptions = {}): Generator<void, unknown, undefined> {
  const piece = options.pieceBytes ?? PIECE_BYTES;
  const stepBytes = options.stepBytes ?? STEP_BYTES;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  const text = (from: number, to: number): string => buf.toString('utf8', from, to);
  if (n <= piece) return JSON.parse(text(0, n));

  // Pass 1: the closing offset of every container larger than `piece` within MAX_WALK_DEPTH.
  const ends = new Map<number, number>();
  const open: number[] = [];
  let deeper = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < n; ) {
    const stop = Math.min(n, i + stepBytes * 4);
    for (; i < stop; i++) {
      const c = buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (open.length < MAX_WALK_DEPTH) open.push(i);
        else deeper++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (deeper > 0) deeper--;
        else {
          const start = open.pop();
          if (start === undefined) throw unexpected(buf, i);
          if (i - start > piece) ends.set(start, i);
        }
      }
    }
    yield;
  }
  // Unbalanced or unterminated: JSON.parse says where (one parse of a body that is wrong anyway).
  if (inString || open.length > 0 || deeper > 0) return JSON.parse(text(0, n));

  /** Where the value starting at `at` (not a walked container) ends, exclusive. */
  const valueEnd = (at: number): number => {
    const c = buf[at];
    if (c === QUOTE) {
      for (let i = at + 1; i < n; i++) {
        const d = buf[i];
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) return i + 1;
      }
      return n;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      let depth = 0;
      let str = false;
      for (let i = at; i < n; i++) {
        const d = buf[i];
        if (str) {
          if (d === BACKSLASH) i++;
          else if (d === QUOTE) str = false;
        } else if (d === QUOTE) str = true;
        else if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
        else if ((d === CLOSE_OBJECT || d === CLOSE_ARRAY) && --depth === 0) return i + 1;
      }
      return n;
    }
    let i = at;
    while (i < n && buf[i] !== COMMA && buf[i] !== CLOSE_ARRAY && buf[i] !== CLOSE_OBJECT && !isSpace(buf[i])) i++;
    return i;
  };
  const skipSpace = (at: number): number => {
    let i = at;
    while (isSpace(buf[i])) i++;
    return i;
  };

  // Pass 2: walk the large containers, JSON.parse everything else piece by piece.
  const stack: Frame[] = [];
  let pos = skipSpace(0);
  let result: unknown;
  let done = false;
  let budget = stepBytes;
  /** A value starts at `pos`: a walked container becomes a frame, anything else is parsed and returned. */
  const startValue = (): { value: unknown } | null => {
    const c = buf[pos];
    const end = ends.get(pos);
    if (end !== undefined && (c === OPEN_OBJECT || c === OPEN_ARRAY)) {
      const array = c === OPEN_ARRAY;
      stack.push({ array, value: array ? [] : {}, end, key: '', members: 0 });
      pos = skipSpace(pos + 1);
      return null;
    }
    if (pos >= n) throw unexpected(buf, pos);
    const to = valueEnd(pos);
    const value: unknown = JSON.parse(text(pos, to));
    budget -= to - pos;
    pos = skipSpace(to);
    return { value };
  };
  const afterMember = (top: Frame): void => {
    top.members++;
    pos = skipSpace(pos);
    if (buf[pos] === COMMA) pos = skipSpace(pos + 1);
    else if (pos !== top.end) throw unexpected(buf, pos);
  };
  const setKey = (obj: Record<string, unknown>, key: string, value: unknown): void => {
    // JSON.parse makes "__proto__" an own property; assigning it would set the prototype.
    if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
    else obj[key] = value;
  };
  const attach = (value: unknown): void => {
    const top = stack[stack.length - 1];
    if (!top) {
      result = value;
      done = true;
      return;
    }
    if (top.array) (top.value as unknown[]).push(value);
    else setKey(top.value as Record<string, unknown>, top.key, value);
    afterMember(top);
  };
  /** End of the member starting at `at` (a value, or `"key": value`), or -1 when its value is a walked container or it is not well formed. */
  const memberEnd = (at: number, array: boolean): number => {
    let v = at;
    if (!array) {
      if (buf[at] !== QUOTE) return -1;
      const colon = skipSpace(valueEnd(at));
      if (buf[colon] !== COLON) return -1;
      v = skipSpace(colon + 1);
    }
    if (v >= n || ends.has(v)) return -1;
    return valueEnd(v);
  };
  /**
   * Members that are not walked containers, as many as fit in about `piece` bytes, in one
   * JSON.parse of `[...]` or `{...}` (a list of a million tiny values parsed one by one would cost
   * far more than JSON.parse of the whole). Returns false when the next member must be walked.
   */
  const takeRun = (top: Frame): boolean => {
    let p = pos;
    let last = -1;
    let count = 0;
    for (;;) {
      const e = memberEnd(p, top.array);
      if (e < 0) break;
      last = e;
      count++;
      const q = skipSpace(e);
      if (last - pos > piece || buf[q] !== COMMA) break;
      p = skipSpace(q + 1);
      if (p >= top.end) break;
    }
    if (count === 0) return false;
    const run = text(pos, last);
    budget -= last - pos;
    if (top.array) {
      for (const v of JSON.parse(`[${run}]`) as unknown[]) (top.value as unknown[]).push(v);
    } else {
      for (const [k, v] of Object.entries(JSON.parse(`{${run}}`) as Record<string, unknown>)) setKey(top.value as Record<string, unknown>, k, v);
    }
    pos = last;
    top.members += count - 1;
    afterMember(top);
    return true;
  };

  const first = startValue();
  if (first) attach(first.value);
  while (!done) {
    if (budget <= 0) {
      budget = stepBytes;
      yield;
    }
    const top = stack[stack.length - 1];
    if (!top) throw unexpected(buf, pos);
    if (pos === top.end) {
      // A comma right before the closing bracket, or a bracket of the other kind, is not JSON.
      if (buf[pos] !== (top.array ? CLOSE_ARRAY : CLOSE_OBJECT) || (top.members > 0 && buf[skipBack(buf, pos - 1)] === COMMA)) throw unexpected(buf, pos);
      stack.pop();
      pos = skipSpace(pos + 1);
      attach(top.value);
      continue;
    }
    if (pos > top.end) throw unexpected(buf, top.end);
    if (takeRun(top)) continue;
    if (!top.array) {
      if (buf[pos] !== QUOTE) throw unexpected(buf, pos);
      const keyEnd = valueEnd(pos);
      top.key = JSON.parse(text(pos, keyEnd)) as string;
      pos = skipSpace(keyEnd);
      if (buf[pos] !== COLON) throw unexpected(buf, pos);
      pos = skipSpace(pos + 1);
    }
    const v = startValue();
    if (v) attach(v.value);
  }
  if (pos !== n) throw unexpected(buf, pos);
  return result;
}

function skipBack(buf: Uint8Array, at: number): number {
  let i = at;
  while (i > 0 && isSpace(buf[i])) i--;
  return i;
}
