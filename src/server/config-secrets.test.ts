/**
 * @module Secrets and resource limits in the config: --token-file / WEFT_TOKEN_FILE keep the
 * token out of /proc/PID/cmdline, --max-memory takes human sizes, both fail with clear problems.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentClientConfig, loadClientConfig, loadConfig, parseByteSize } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tokenFile(content: string): string {
  const p = join(dir, `t-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, content);
  chmodSync(p, 0o600);
  return p;
}

describe('config: secrets', () => {
  it('reads the token from --token-file (first line, trimmed) and from WEFT_TOKEN_FILE', () => {
    const r = loadConfig({ tokenFile: tokenFile('s3cret-Token_1\nignored\n') }, {});
    expect(r.ok && r.config.token).toBe('s3cret-Token_1');
    const e = loadConfig({}, { WEFT_TOKEN_FILE: tokenFile('  fromenv  \n') });
    expect(e.ok && e.config.token).toBe('fromenv');
    expect(loadConfig({}, { WEFT_TOKEN: 'envtoken' })).toMatchObject({ ok: true, config: { token: 'envtoken' } });
  });

  it('names the option for a missing or empty token file, and refuses both --token and --token-file', () => {
    const missing = loadConfig({ tokenFile: join(dir, 'nope') }, {});
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.problems.join('\n')).toMatch(/--token-file must be a readable file .*ENOENT/);
    const empty = loadConfig({ tokenFile: tokenFile('\n') }, {});
    expect(!empty.ok && empty.problems.join('\n')).toMatch(/--token-file must hold a token/);
    const both = loadConfig({ token: 'a', tokenFile: tokenFile('b') }, {});
    expect(!both.ok && both.problems.join('\n')).toMatch(/--token-file and --token must not both be given/);
  });

  it('never prints a token from a file in a problem', () => {
    const bad = loadConfig({ tokenFile: tokenFile('has space secret\n') }, {});
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.join('\n')).not.toContain('secret');
  });

  it('client commands take --token-file and WEFT_TOKEN_FILE too', () => {
    const c = loadClientConfig({ tokenFile: tokenFile('clienttoken\n') }, {});
    expect(c.ok && c.config.token).toBe('clienttoken');
    const a = loadAgentClientConfig({}, { WEFT_TOKEN_FILE: tokenFile('agenttoken') });
    expect(a.ok && a.config.token).toBe('agenttoken');
  });
});

describe('config: --max-memory and timeouts', () => {
  it('parses sizes', () => {
    expect(parseByteSize('512m')).toBe(512 * 1024 * 1024);
    expect(parseByteSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('12 parsecs')).toBeNull();
    expect(parseByteSize('-1g')).toBeNull();
  });

  it('has a sane default and rejects a too small or bad value naming the option', () => {
    const d = loadConfig({}, {});
    expect(d.ok && d.config.maxMemoryBytes).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(d.ok && d.config.maxMemoryBytes).toBeLessThanOrEqual(1024 ** 3);
    expect(loadConfig({ maxMemory: '2g' }, {})).toMatchObject({ ok: true, config: { maxMemoryBytes: 2 * 1024 ** 3 } });
    const small = loadConfig({}, { WEFT_MAX_MEMORY: '10m' });
    expect(!small.ok && small.problems.join('\n')).toMatch(/WEFT_MAX_MEMORY must be a size of at least 128m/);
    const t = loadConfig({ requestTimeout: '5', queryTimeout: 'soon' }, {});
    expect(!t.ok && t.problems).toHaveLength(2);
  });
});
