/**
 * @module `weft import-pcap` from the command line: a real capture becomes NET spans in a running
 * server (with --token), or in a store directory; bad input fails clearly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureFrom } from '../../src/agent/protocols/testing/write-pcap.js';
import { openDuckDbStore } from '../../src/server/store/index.js';
import { cliFromSource, REPO_ROOT, runToEnd } from './cli-process.js';
import { getJson, startTestWeft } from './weft-harness.js';
import type { TestWeft } from './weft-harness.js';

const TOKEN = 'pcap-token';
const KEEPALIVE = join(REPO_ROOT, 'src/agent/protocols/http1/testdata/curl-keepalive.pcap');
const PCAPNG = join(REPO_ROOT, 'src/agent/capture/pcap/testdata/curl-http-server-v4-v6.pcapng');
const QUERY_ATTRIBUTES = join(REPO_ROOT, 'src/agent/protocols/mysql/testdata/zeek-mysql9-query-attributes.pcap');

interface ApiSpan {
  source: string;
  observationPoint: string;
  requestResource: string;
  responseCode: number | null;
  reqTcpSeq: number;
  interfaceName: string;
  hostId: string;
}

describe('weft import-pcap', () => {
  let weft: TestWeft;
  const dirs: string[] = [];
  beforeAll(async () => {
    weft = await startTestWeft({ token: TOKEN });
  });
  afterAll(async () => {
    await weft?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('sends the NET spans of a capture to the server', async () => {
    const r = await runToEnd(cliFromSource(['import-pcap', KEEPALIVE, '--server', weft.urls.otlpHttp, '--interface', 'lo', '--host-id', 'capture-box']), { WEFT_TOKEN: TOKEN });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/imported 4 NET spans from \d+ packets \(1 flows\)/);
    const found = await getJson<{ spans: ApiSpan[] }>(`${weft.urls.query}/api/v1/spans?source=net&limit=100`, { authorization: `Bearer ${TOKEN}` });
    const spans = found.body.spans.filter((s) => s.hostId === 'capture-box');
    expect(spans.map((s) => [s.observationPoint, s.requestResource, s.responseCode, s.interfaceName]).sort()).toEqual([
      ['c', '/a.txt', 200, 'lo'],
      ['c', '/api/v1/users/42?x=1', 200, 'lo'],
      ['c', '/boom', 503, 'lo'],
      ['c', '/missing', 404, 'lo'],
    ]);
  });

  it('with --dry-run, says what a capture holds and sends nothing', async () => {
    const r = await runToEnd(cliFromSource(['import-pcap', QUERY_ATTRIBUTES, '--dry-run']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^weft: would import (\d+) NET spans \(mysql \1\) from \d+ packets \(\d+ flows\); nothing sent \(--dry-run\)\n$/);
    const both = await runToEnd(cliFromSource(['import-pcap', KEEPALIVE, '--dry-run', '--server', weft.urls.otlpHttp]));
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--dry-run sends and stores nothing');
  });

  it('writes into a store directory with --data, at s with --observation-point s', async () => {
    const data = mkdtempSync(join(tmpdir(), 'weft-pcap-'));
    dirs.push(data);
    const r = await runToEnd(cliFromSource(['import-pcap', PCAPNG, '--data', data, '--observation-point', 's']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('imported 2 NET spans');
    const store = await openDuckDbStore({ path: join(data, 'weft.duckdb') });
    try {
      const spans = await store.findSpans({ source: 'net', limit: 10 });
      expect(spans.map((s) => [s.observationPoint, s.ipVersion, s.requestResource, s.interfaceName]).sort()).toEqual([
        ['s', 4, '/', 'lo'],
        ['s', 6, '/missing?x=1', 'lo'],
      ]);
    } finally {
      await store.close();
    }
  });

  it('MySQL 8 query attributes from a public capture joined mid-connection: clean SQL, decoded attributes, in the store', async () => {
    // Zeek's MySQL 9.0.0 / Connector/Python capture (testdata/zeek-mysql9-query-attributes.md),
    // cut before its first attribute-carrying COM_QUERY: no handshake says the capability is on.
    const dir = mkdtempSync(join(tmpdir(), 'weft-pcap-'));
    dirs.push(dir);
    const cut = join(dir, 'mid-connection.pcap');
    writeFileSync(cut, captureFrom(readFileSync(QUERY_ATTRIBUTES), (p) => p.length > 6 && p[3] === 0 && p[4] === 0x03 && p[5] === 4));
    const r = await runToEnd(cliFromSource(['import-pcap', cut, '--data', join(dir, 'data')]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('imported 1 NET spans');
    const store = await openDuckDbStore({ path: join(dir, 'data', 'weft.duckdb') });
    try {
      const [span] = await store.findSpans({ source: 'net', limit: 10 });
      expect([span?.protocol, span?.requestType, span?.requestResource, span?.responseStatus]).toEqual(['mysql', 'SELECT', 'SELECT version()', 'ok']);
      expect(span?.attributes).toMatchObject({
        'db.mysql.query_attribute.number1': '42',
        'db.mysql.query_attribute.string1': 'a string',
        'db.mysql.query_attribute.date1': '1987-10-18',
        'db.mysql.query_attribute.datetime1': '1990-09-26 12:13:14',
      });
    } finally {
      await store.close();
    }
  });

  it('fails clearly: not a capture (exit 2), no such file (exit 2), a wrong token (exit 1)', async () => {
    const junk = join(mkdtempSync(join(tmpdir(), 'weft-pcap-')), 'junk.pcap');
    dirs.push(join(junk, '..'));
    writeFileSync(junk, 'this is not a capture file');
    const bad = await runToEnd(cliFromSource(['import-pcap', junk, '--server', weft.urls.otlpHttp]));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a pcap nor a pcapng header.*\[TRC_PCAP_MALFORMED\]/);
    const missing = await runToEnd(cliFromSource(['import-pcap', '/nonexistent.pcap']));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the capture file/);
    const denied = await runToEnd(cliFromSource(['import-pcap', KEEPALIVE, '--server', weft.urls.otlpHttp, '--token', 'wrong']));
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/rejected 4 of 4 spans.*\[TRC_IMPORT_SEND\]/);
  });
});
