/**
 * The link watcher against the kernel: a namespace of its own, interfaces that appear, are
 * renamed out of the patterns and go away. Attaching is recorded, not done (the tc side is the
 * net-path end-to-end test's). Needs root for `ip netns`; skips without it outside CI.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInterfacePatterns } from './interface-patterns.js';
import { createLinkWatcher, type LinkCapture } from './link-watcher.js';

const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root && process.env.CI === 'true') throw new Error('the link watcher test needs root in CI');
const NS = `wft-lw-${randomBytes(3).toString('hex')}`;
const ip = (...args: string[]): string => execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });
const silent = { info: () => undefined, warn: () => undefined };

describe.skipIf(!root)('link watcher', () => {
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      // not created
    }
  });

  it('attaches to interfaces that appear and match, and lets go of those that go away or stop matching', async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    const log: string[] = [];
    const capture: LinkCapture = {
      captureLink: (l) => {
        log.push(`+${l.name}${l.netnsPath ? ` in ${l.netnsPath}` : ''}`);
        return 77;
      },
      releaseInterface: (ifindex, ino) => void log.push(`-${ifindex}@${ino}`),
    };
    const w = createLinkWatcher({ matcher: parseInterfacePatterns(['veth*', 'br*']), netns: [NS], capture, logger: silent, intervalMs: 60_000 });
    await w.rescan();
    expect(log).toEqual([]);
    ip('link', 'add', 'veth-x', 'type', 'veth', 'peer', 'name', 'other0');
    ip('link', 'add', 'br0', 'type', 'bridge');
    await w.rescan();
    expect(log.sort()).toEqual([`+${NS}/br0 in /run/netns/${NS}`, `+${NS}/veth-x in /run/netns/${NS}`]);
    const vethIndex = w.captured().find((l) => l.info.name === 'veth-x')?.info.ifindex;
    const brIndex = w.captured().find((l) => l.info.name === 'br0')?.info.ifindex;
    expect(w.byIfindex(vethIndex ?? -1)?.info).toMatchObject({ kind: 'veth', role: 'other' });
    expect(w.byIfindex(brIndex ?? -1)?.info.role).toBe('bridge');
    log.length = 0;
    ip('link', 'del', 'veth-x');
    ip('link', 'set', 'br0', 'name', 'xbr0');
    await w.rescan();
    expect(log.sort()).toEqual([`-${brIndex}@77`, `-${vethIndex}@77`].sort());
    expect(w.captured()).toEqual([]);
    w.close();
  });

  it('picks up an interface when the namespace changes, without polling it (its `ip monitor` says when)', async () => {
    const ns = `${NS}-m`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const attached: string[] = [];
      const w = createLinkWatcher({ matcher: parseInterfacePatterns(['veth*']), netns: [ns], capture: { captureLink: (l) => (attached.push(l.name), 1), releaseInterface: () => undefined }, logger: silent, intervalMs: 60_000 });
      const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
        const deadline = Date.now() + ms;
        while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        return cond();
      };
      // Nothing rescans on the 60 s interval within this test: only the monitor can bring it.
      await new Promise((r) => setTimeout(r, 300));
      execFileSync('ip', ['-n', ns, 'link', 'add', 'veth-m', 'type', 'veth', 'peer', 'name', 'peer-m']);
      expect(await until(() => attached.length > 0, 10_000)).toBe(true);
      expect(attached).toEqual([`${ns}/veth-m`]);
      const monitors = (): string => execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' });
      expect(monitors()).toContain('ip monitor');
      w.close();
      // The monitor process went with close().
      expect(await until(() => !monitors().includes('ip monitor'), 5000)).toBe(true);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  it('lets go of everything in a namespace that was deleted', async () => {
    const gone = `${NS}-x`;
    execFileSync('ip', ['netns', 'add', gone]);
    execFileSync('ip', ['-n', gone, 'link', 'add', 'br9', 'type', 'bridge']);
    const released: number[] = [];
    const w = createLinkWatcher({ matcher: parseInterfacePatterns(['br*']), netns: [gone], capture: { captureLink: () => 5, releaseInterface: (i) => void released.push(i) }, logger: silent, intervalMs: 60_000 });
    await w.rescan();
    expect(w.captured()).toHaveLength(1);
    execFileSync('ip', ['netns', 'del', gone]);
    await w.rescan();
    expect(released).toHaveLength(1);
    expect(w.captured()).toEqual([]);
    w.close();
  });
});
