/**
 * @module The ClickHouse options: `--store clickhouse:URL`, `--cluster`, `--retention` (flags over
 * WEFT_* over defaults, every problem named), and what the store takes from the URL.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { parseClickHouseUrl } from './clickhouse-store.js';

describe('ClickHouse configuration', () => {
  it('--cluster and --retention ride on a clickhouse store; flags win over the environment', () => {
    const r = loadConfig(
      { store: 'clickhouse:http://ch-1:8123/weft', cluster: 'weft_prod', retention: '2w' },
      { WEFT_RETENTION: '3d', WEFT_CLUSTER: 'other' },
    );
    expect(r.ok && r.config.store).toStrictEqual({ kind: 'clickhouse', url: 'http://ch-1:8123/weft', cluster: 'weft_prod', retentionDays: 14 });
    const fromEnv = loadConfig({}, { WEFT_STORE: 'clickhouse:http://ch-1:8123', WEFT_RETENTION: '7d' });
    expect(fromEnv.ok && fromEnv.config.store).toStrictEqual({ kind: 'clickhouse', url: 'http://ch-1:8123', cluster: null, retentionDays: 7 });
  });

  it('reports every bad ClickHouse option at once', () => {
    const bad = loadConfig({ store: 'clickhouse:http://ch-1:8123', cluster: "x'; DROP", retention: '7 days' }, {});
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems).toStrictEqual([
      "--cluster must be a ClickHouse cluster name (letters, digits, _) (actual: 'x'; DROP')",
      "--retention must be a whole number of days or weeks, at least 1d (e.g. 7d, 2w) (actual: '7 days')",
    ]);
    const zero = loadConfig({ store: 'clickhouse:http://ch-1:8123', retention: '0d' }, {});
    expect(!zero.ok && zero.problems[0]).toContain('at least 1d');
    const notCh = loadConfig({ store: 'memory', cluster: 'c', retention: '7d' }, {});
    expect(!notCh.ok && notCh.problems).toStrictEqual(['--cluster needs --store clickhouse:URL (actual store: memory)', '--retention needs --store clickhouse:URL (actual store: memory)']);
  });

  it('the URL gives origin, credentials and database (default weft); a hostile database name is refused', () => {
    expect(parseClickHouseUrl('http://u:p%40ss@ch:8123/traces')).toStrictEqual({ origin: 'http://ch:8123', username: 'u', password: 'p@ss', database: 'traces' });
    expect(parseClickHouseUrl('https://ch:8443')).toStrictEqual({ origin: 'https://ch:8443', username: 'default', password: '', database: 'weft' });
    expect(() => parseClickHouseUrl('http://ch:8123/weft;DROP')).toThrow(/plain identifier/);
    expect(() => parseClickHouseUrl('ftp://ch')).toThrow(/http/);
  });
});
