/**
 * @module The watchdog of one agent's tc filters: a small detached process that waits for the
 * agent's pid to end (however it ends: kill -9 included) and then removes what the agent's
 * ledger lists (see tc-leftovers.ts). It has its own session, so a signal to the agent does not
 * reach it; the agent stops it on a clean close.
 *
 * Run as `node tc-watchdog.js STATE_DIR PID START_TIME` (spawned by startTcWatchdog).
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanupDeadAgents, processStartTime } from './tc-leftovers.js';

/** How often the watchdog looks at the agent: the bound on how long a dead agent's program runs. */
const POLL_MS = 250;

/** Starts the watchdog for `pid` (default this process). The caller kills it on a clean stop. */
export function startTcWatchdog(stateDir: string, pid: number = process.pid): ChildProcess {
  const self = fileURLToPath(import.meta.url);
  // From the TypeScript sources (tests, `node bin/weft.js` without dist/) the child needs tsx.
  const loader = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, self, stateDir, String(pid), processStartTime(pid) ?? ''], {
    // The package root, where tsx resolves from.
    cwd: join(dirname(self), '..', '..', '..'),
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  child.unref();
  return child;
}

/** The file a running watchdog keeps next to the agent's ledger (its pid): it is watching. */
export function watchdogMarker(stateDir: string, pid: number): string {
  return join(stateDir, `agent-${pid}.watchdog`);
}

async function watch(stateDir: string, pid: number, startTime: string): Promise<void> {
  const marker = watchdogMarker(stateDir, pid);
  writeFileSync(marker, String(process.pid), { mode: 0o600 });
  for (;;) {
    const now = processStartTime(pid);
    if (now === null || (startTime !== '' && now !== startTime)) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  cleanupDeadAgents(stateDir, pid);
  rmSync(marker, { force: true });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir, pid, start] = process.argv.slice(2);
  if (dir !== undefined && pid !== undefined && /^\d+$/.test(pid)) void watch(dir, Number(pid), start ?? '');
}
