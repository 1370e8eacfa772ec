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

export function createQueryRedactor(names: readonly string[]): QueryRedactor {
  const set = new Set(names.map((n) => n.trim().toLowerCase()).filter((n) => n !== ''));
  const isSecret = (rawName: string): boolean => {
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
    } catch {
      // a malformed escape: match the raw name
    }
    const lower = name.toLowerCase();
    return set.has(lower) || lower.split(/[_.-]/).some((part) => set.has(part));
  };
  const redact = ((input: string): string => {
    if (set.size === 0) return input;
    const q = input.indexOf('?');
    if (q < 0) return input;
    const hash = input.indexOf('#', q);
    const query = input.slice(q + 1, hash < 0 ? undefined : hash);
    let changed = false;
    const parts = query.split('&').map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0 || !isSecret(pair.slice(0, eq)) || pair.slice(eq + 1) === '') return pair;
      changed = true;
      return `${pair.slice(0, eq + 1)}${REDACTED_VALUE}`;
    });
    if (!changed) return input;
    return `${input.slice(0, q + 1)}${parts.join('&')}${hash < 0 ? '' : input.slice(hash)}`;
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
