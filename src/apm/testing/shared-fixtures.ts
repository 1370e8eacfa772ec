/**
 * @module Where the recorded APM fixtures live: `shared/fixtures/apm`, beside the repository
 * (CI and every session check out `shared/` next to the clone). Tests only.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** Absolute path of `shared/fixtures/apm` next to the repository root. */
export const SHARED_APM_FIXTURES = join(repoRoot(), '..', 'shared', 'fixtures', 'apm');
