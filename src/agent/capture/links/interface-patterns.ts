/**
 * @module `--interfaces` patterns: interface names with `*` (any run) and `?` (one character),
 * comma-separated, e.g. `veth*,br*,eth0,vxlan*`. Checked once at start: a bad pattern is a
 * configuration error naming it, not an interface that silently never matches.
 */
import { TracingError } from '../../../model/index.js';

/** Linux interface names are at most IFNAMSIZ - 1 = 15 bytes. */
const MAX_NAME = 15;

export interface InterfaceMatcher {
  /** The patterns as given (after trimming). */
  readonly patterns: readonly string[];
  matches(name: string): boolean;
}

export function parseInterfacePatterns(list: readonly string[]): InterfaceMatcher {
  const patterns = list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const problems: string[] = [];
  const regexes: RegExp[] = [];
  for (const p of patterns) {
    // '/' and whitespace can never be in an interface name; ':' would be an alias label.
    if (/[\s/:]/.test(p)) problems.push(`${JSON.stringify(p)}: an interface name cannot hold whitespace, '/' or ':'`);
    else if (p.replace(/\*/g, '').length > MAX_NAME) problems.push(`${JSON.stringify(p)}: longer than an interface name can be (${MAX_NAME})`);
    else regexes.push(new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  }
  if (problems.length > 0) throw new TracingError('TRC_CONFIG_INVALID', `invalid --interfaces: ${problems.join('; ')}`);
  return { patterns, matches: (name) => regexes.some((r) => r.test(name)) };
}
