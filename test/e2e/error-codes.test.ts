/**
 * @module Every TRC_* error code used in src/ is documented in docs/errors.md (fastify's rule:
 * a code users can see must be explained where they look).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './cli-process.js';

const CODE = /\bTRC_[A-Z][A-Z0-9_]*[A-Z0-9]\b/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mjs|js|cjs)$/.test(name) && !/\.test\.ts$/.test(name) ? [p] : [];
  });
}

describe('docs/errors.md', () => {
  it('lists every TRC_* code used in src', () => {
    const used = new Set<string>();
    for (const f of sourceFiles(join(REPO_ROOT, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(CODE)) used.add(m[0]);
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `(TRC_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    const missing = [...used].filter((c) => !documented.has(c)).sort();
    expect(missing, `add these codes to docs/errors.md: ${missing.join(', ')}`).toEqual([]);
    expect(used.size).toBeGreaterThan(10);
  });
});
