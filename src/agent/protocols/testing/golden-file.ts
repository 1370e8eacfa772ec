/**
 * @module The golden-file rule of the protocol suites: a golden is the reviewed expectation, so a
 * missing one fails the test (a silently written golden would pass whatever the code does); only
 * an explicit `UPDATE_GOLDEN=1` run writes goldens, to be reviewed as a diff.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const UPDATE_GOLDEN = process.env['UPDATE_GOLDEN'] === '1';

/**
 * The expected text at `path`. With `update`, `actual` is written there first (and returned).
 * Throws, naming the update flag, when the golden is missing and `update` is off.
 */
export function goldenText(path: string, actual: string, update = UPDATE_GOLDEN): string {
  if (update) writeFileSync(path, actual);
  if (!existsSync(path)) throw new Error(`${path} is missing: record it with UPDATE_GOLDEN=1 npx vitest run <this test> and review it`);
  return readFileSync(path, 'utf8');
}
