/** @module The golden-file rule (issue 8, B): a missing golden fails unless the update flag is given. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { goldenText } from './golden-file.js';

describe('goldenText', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-golden-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails on a missing golden, naming the update flag, and writes nothing', () => {
    const path = join(dir, 'missing.golden.json');
    expect(() => goldenText(path, '[]\n', false)).toThrow(/missing\.golden\.json is missing: record it with UPDATE_GOLDEN=1/);
    expect(existsSync(path)).toBe(false);
  });

  it('writes (or rewrites) the golden only when asked to', () => {
    const path = join(dir, 'case.golden.json');
    expect(goldenText(path, 'new\n', true)).toBe('new\n');
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    writeFileSync(path, 'reviewed\n');
    // Without the flag the reviewed text is the expectation, whatever the code produced.
    expect(goldenText(path, 'changed\n', false)).toBe('reviewed\n');
  });
});
