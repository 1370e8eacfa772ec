/**
 * @module A token given as a flag is readable by every local user in /proc/PID/cmdline: the
 * server warns about it; --token-file keeps it out of the process list and still enforces it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PORT_FLAGS_ZERO, cliFromSource, exited, startUntilListening } from './cli-process.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('token secrets', () => {
  it('warns when --token is a flag; with --token-file the token is not in cmdline and is still required', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-token-'));
    dirs.push(dir);
    const flagged = await startUntilListening(cliFromSource(['server', '--store', 'memory', ...PORT_FLAGS_ZERO, '--token', 'flagToken123']));
    try {
      expect(flagged.log()).toMatch(/--token on the command line is visible to every local user/);
    } finally {
      flagged.child.kill('SIGTERM');
      await exited(flagged.child);
    }
    const file = join(dir, 'token');
    await writeFile(file, 'fileToken456\n', { mode: 0o600 });
    const filed = await startUntilListening(cliFromSource(['server', '--store', 'memory', ...PORT_FLAGS_ZERO, '--token-file', file]));
    try {
      expect(filed.log()).not.toMatch(/visible to every local user/);
      const cmdline = await readFile(`/proc/${filed.child.pid}/cmdline`, 'utf8');
      expect(cmdline).not.toContain('fileToken456');
      const url = `http://127.0.0.1:${filed.ports.query}/api/services`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer fileToken456' } })).status).toBe(200);
    } finally {
      filed.child.kill('SIGTERM');
      await exited(filed.child);
    }
  }, 60_000);
});
