import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CommandContext } from './command-context.js';
import { main } from './main.js';

function context(): CommandContext & { out: () => string } {
  let out = '';
  const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  return { env: {}, cwd: process.cwd(), stdout: sink, stderr: sink, out: () => out };
}

describe('weft', () => {
  it('prints its version with --version and -V', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const ctx = context();
      expect(await main([flag], ctx)).toBe(0);
      expect(ctx.out()).toBe(`${version}\n`);
    }
  });
});
