/**
 * @module Query-string redaction: the values of well-known secret parameters in a URL or request
 * target become `[REDACTED]` before a span is built or stored (`?token=abc` → `?token=[REDACTED]`).
 *
 * A parameter is secret when its name, or one of the parts its name is made of (split at `_`,
 * `-` and `.`: `api_key`, `X-Amz-Signature`, `client_secret`), is in the list, case-insensitively.
 * The list defaults to DEFAULT_SECRET_QUERY_PARAMS; WEFT_REDACT_QUERY_PARAMS (comma-separated)
 * replaces it for a process, and an empty value turns redaction off.
 */

export const DEFAULT_SECRET_QUERY_PARAMS: readonly string[] = ['token', 'password', 'secret', 'key', 'auth', 'signature', 'sig', 'access_token'];

const REDACTED_VALUE = '[REDACTED]';

export interface QueryRedactor {
  /** The URL or target with secret parameter values replaced; the input itself when none. */
  (urlOrTarget: string): string;
  readonly names: ReadonlySet<string>;
}

/** Parameter names whose verdict is remembered; real traffic repeats a handful of names. */
const VERDICT_CACHE_SIZE = 1024;

export function createQueryRedactor(names: readonly string[]): QueryRedactor {
  const set = new Set(names.map((n) => n.trim().toLowerCase()).filter((n) => n !== ''));
  // Every span of a sniffed request goes through here, so a name's verdict is computed once.
  const verdicts = new Map<string, boolean>();
  const decide = (rawName: string): boolean => {
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
    } catch {
      // a malformed escape: match the raw name
    }
    const lower = name.toLowerCase();
    return set.has(lower) || lower.split(/[_.-]/).some((part) => set.has(part));
  };
  const isSecret = (rawName: string): boolean => {
    let v = verdicts.get(rawName);
    if (v === undefined) {
      v = decide(rawName);
      if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.clear();
      verdicts.set(rawName, v);
    }
    return v;
  };
  const redact = ((input: string): string => {
    if (set.size === 0) return input;
    const q = input.indexOf('?');
    if (q < 0) return input;
    const hash = input.indexOf('#', q);
    const end = hash < 0 ? input.length : hash;
    // One pass over the pairs; a new string is built only from the first secret value on.
    let out: string | null = null;
    let copied = 0;
    for (let at = q + 1; at <= end; ) {
      let amp = input.indexOf('&', at);
      if (amp < 0 || amp > end) amp = end;
      const eq = input.indexOf('=', at);
      if (eq >= 0 && eq < amp && eq + 1 < amp && isSecret(input.slice(at, eq))) {
        out = (out ?? '') + input.slice(copied, eq + 1) + REDACTED_VALUE;
        copied = amp;
      }
      at = amp + 1;
    }
    return out === null ? input : out + input.slice(copied);
  }) as QueryRedactor;
  Object.defineProperty(redact, 'names', { value: set });
  return redact;
}

/** The list WEFT_REDACT_QUERY_PARAMS asks for, or the default when it is unset. */
export function secretQueryParamsFromEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  const raw = env['WEFT_REDACT_QUERY_PARAMS'];
  if (raw === undefined) return [...DEFAULT_SECRET_QUERY_PARAMS];
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

let active: QueryRedactor = createQueryRedactor(DEFAULT_SECRET_QUERY_PARAMS);

/** Redacts with the process's list (set once at startup by the CLI; the default otherwise). */
export function redactQuery(urlOrTarget: string): string {
  return active(urlOrTarget);
}

/** Sets the process's list (the CLI calls it with secretQueryParamsFromEnv at startup). */
export function setSecretQueryParams(names: readonly string[]): void {
  active = createQueryRedactor(names);
}
