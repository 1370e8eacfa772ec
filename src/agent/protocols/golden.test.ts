/**
 * @module Golden tests from real traffic: every `<protocol>/testdata/<case>.pcap` (recorded by
 * scripts/record-goldens.sh from real Debian clients and servers) is replayed through its parser
 * and the spans compared with `<case>.golden.json`. `UPDATE_GOLDEN=1` rewrites the goldens.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dnsParser } from './dns/index.js';
import { http1Parser } from './http1/index.js';
import { mysqlParser } from './mysql/index.js';
import { postgresParser } from './postgres/index.js';
import type { AnyProtocolParser } from './protocol.js';
import { redisParser } from './redis/index.js';
import { readPcapFlows } from './testing/pcap-flows.js';
import { replayFlows, spansToJson } from './testing/replay.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FOLDERS: Record<string, AnyProtocolParser> = {
  http1: http1Parser,
  dns: dnsParser,
  redis: redisParser,
  mysql: mysqlParser,
  postgres: postgresParser,
};
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

for (const [folder, parser] of Object.entries(FOLDERS)) {
  const dir = join(HERE, folder, 'testdata');
  const cases = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pcap')).map((f) => f.slice(0, -5)).sort() : [];
  describe(`${folder} goldens`, () => {
    it('has recorded cases, each with a note', () => {
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) expect(readFileSync(join(dir, `${c}.md`), 'utf8').trim()).not.toBe('');
    });
    for (const c of cases) {
      it(c, () => {
        const flows = readPcapFlows(readFileSync(join(dir, `${c}.pcap`)));
        expect(flows.length).toBeGreaterThan(0);
        for (const f of flows) expect(f.gaps, `capture of ${c} lost bytes; re-record it`).toBe(0);
        // Detection must recognise the first message of every flow.
        for (const f of flows) {
          const first = f.messages[0]!;
          expect(parser.detect(first.bytes, first.fromClient ? 'request' : 'response')).not.toBe('no');
        }
        const { spans, stats } = replayFlows(parser, flows);
        for (const s of stats) expect(s.invalid).toBe(0);
        expect(spans.length).toBeGreaterThan(0);
        const json = spansToJson(spans);
        const goldenPath = join(dir, `${c}.golden.json`);
        if (UPDATE || !existsSync(goldenPath)) writeFileSync(goldenPath, json);
        expect(json).toBe(readFileSync(goldenPath, 'utf8'));
      });
    }
  });
}
