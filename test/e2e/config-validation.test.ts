/**
 * @module Config validation: a bad value fails fast (exit 2, nothing listens), naming the option,
 * the rule and the actual value, and every problem is reported at once.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { cliFromSource, runToEnd } from './cli-process.js';

describe('configuration', () => {
  it('layers defaults < environment < flags', () => {
    const r = loadConfig({ queryPort: '7000' }, { WEFT_QUERY_PORT: '6000', WEFT_OTLP_HTTP_PORT: '5000', WEFT_APM: 'jaeger=http://j:16686,tempo=http://t:3200' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.ports.query).toBe(7000);
    expect(r.config.ports.otlpHttp).toBe(5000);
    expect(r.config.ports.otlpGrpc).toBe(4317);
    expect(r.config.apm).toEqual([
      { name: 'jaeger', url: 'http://j:16686' },
      { name: 'tempo', url: 'http://t:3200' },
    ]);
    expect(r.config.store).toEqual({ kind: 'duckdb', path: 'weft-data/weft.duckdb' });
  });

  it('reports every problem at once, each naming option, rule and value', () => {
    const r = loadConfig(
      { otlpHttpPort: 'abc', store: 'mongo:x', apm: ['newrelic=http://x', 'jaeger=ftp://y'], exportOtlp: 'kafka://q', logLevel: 'loud' },
      { WEFT_ZIPKIN_PORT: '70000' },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        "--otlp-http-port must be an integer 0–65535 (actual: 'abc')",
        "WEFT_ZIPKIN_PORT must be an integer 0–65535 (actual: '70000')",
        "--store must be duckdb:PATH, clickhouse:URL or memory (actual: 'mongo:x')",
        "--apm must be NAME=URL with NAME one of skywalking, jaeger, tempo, zipkin (actual: 'newrelic=http://x')",
        "--apm jaeger= needs an http:// or https:// URL (actual: 'jaeger=ftp://y')",
        "--export-otlp must be an http://, https:// or grpc:// URL with a host (actual: 'kafka://q')",
        "--log-level must be one of fatal, error, warn, info, debug, trace, silent (actual: 'loud')",
      ]),
    );
    expect(r.problems).toHaveLength(7);
  });

  it('rejects two listeners on one port', () => {
    const r = loadConfig({ queryPort: '4318' }, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual(['--otlp-http-port and --query-port must differ (actual: both 4318)']);
  });

  it('makes `weft server` exit 2 before listening, naming option, rule and value', async () => {
    const r = await runToEnd(cliFromSource(['server', '--otlp-http-port', 'abc', '--store', 'bogus', '--apm', 'x=y']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--otlp-http-port must be an integer 0–65535 (actual: 'abc')");
    expect(r.stderr).toContain("--store must be duckdb:PATH, clickhouse:URL or memory (actual: 'bogus')");
    expect(r.stderr).toContain("--apm must be NAME=URL with NAME one of skywalking, jaeger, tempo, zipkin (actual: 'x=y')");
    expect(r.stderr).toContain('TRC_CONFIG_INVALID');
    expect(r.stderr).not.toContain('weft listening');
  });

  it('reads WEFT_* variables in the CLI too', async () => {
    const r = await runToEnd(cliFromSource(['server']), { WEFT_SW_GRPC_PORT: '-1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("WEFT_SW_GRPC_PORT must be an integer 0–65535 (actual: '-1')");
  });
});
