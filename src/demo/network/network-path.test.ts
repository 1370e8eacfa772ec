/**
 * Orphaned network paths: the namespaces of a run killed before destroy() go at the next start,
 * and nothing of a live run, or with a process inside, is touched. Needs root for `ip netns`;
 * skips without it outside CI.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { removeOrphanedPaths } from './network-path.js';

const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root && process.env.CI === 'true') throw new Error('the network path test needs root in CI');

const netnsList = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '');

describe.skipIf(!root)('orphaned network paths', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const n of made) spawnSync('ip', ['netns', 'del', n]);
  });

  it('removes the namespaces of a creator that is gone, and only when nothing runs inside', async () => {
    // A pid that certainly belonged to a process that has ended: a child we ran to completion.
    const gone = spawnSync('true').pid;
    const tag = randomBytes(3).toString('hex');
    const orphan = `wft-pa-${gone}-${tag}`;
    const busy = `wft-pb-${gone}-${tag}`;
    const live = `wft-n1-${process.pid}-${tag}`;
    const other = `wft-x-${gone}-${tag}`;
    for (const n of [orphan, busy, live, other]) {
      execFileSync('ip', ['netns', 'add', n]);
      made.push(n);
    }
    const sleeper = spawn('ip', ['netns', 'exec', busy, 'sleep', '60'], { stdio: 'ignore' });
    try {
      // `ip netns exec` has entered the namespace once the sleep shows there.
      for (let i = 0; i < 100 && execFileSync('ip', ['netns', 'pids', busy], { encoding: 'utf8' }).trim() === ''; i++) await new Promise((r) => setTimeout(r, 20));
      const removed = removeOrphanedPaths();
      expect(removed).toContain(orphan);
      expect(removed).not.toContain(busy);
      expect(removed).not.toContain(live);
      expect(removed).not.toContain(other);
      const left = netnsList();
      expect(left).not.toContain(orphan);
      expect(left).toEqual(expect.arrayContaining([busy, live, other]));
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
