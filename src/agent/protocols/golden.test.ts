/**
 * @module Golden tests from real traffic: every `<protocol>/testdata/<case>.pcap` (recorded by
 * scripts/record-goldens.sh from real Debian clients and servers) is replayed through its parser
 * and the spans compared with `<case>.golden.json`. Every parser in the registry is covered (its
 * folder is found, not listed). A missing golden fails; `UPDATE_GOLDEN=1` writes (or rewrites)
 * the goldens, to be reviewed as a diff.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goldenText } from './testing/golden-file.js';
import { readPcapFlows } from './testing/pcap-flows.js';
import { protocolFolders } from './testing/protocol-folders.js';
import { replayFlows, spansToJson } from './testing/replay.js';

const { folders } = await protocolFolders();

for (const { folder, parser, testdata: dir } of folders) {
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
        expect(json).toBe(goldenText(join(dir, `${c}.golden.json`), json));
      });
    }
  });
}
