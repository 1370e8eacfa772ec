/**
 * @module Detection across the registry: the first message of every recorded flow is claimed
 * ('yes') by its own parser and by no other, on the non-default ports the captures used.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_PARSERS, parserByName } from './registry.js';
import { readPcapFlows } from './testing/pcap-flows.js';
import { PROTOCOLS_DIR, protocolFolders } from './testing/protocol-folders.js';

const placed = await protocolFolders();
const FOLDER_PROTOCOL: Record<string, string> = Object.fromEntries(placed.folders.map((f) => [f.folder, f.parser.name]));

describe('registry detection', () => {
  it('lists each protocol once, by name, each in its own folder with recorded captures', () => {
    expect(new Set(PROTOCOL_PARSERS.map((p) => p.name)).size).toBe(PROTOCOL_PARSERS.length);
    for (const name of Object.values(FOLDER_PROTOCOL)) expect(parserByName(name)?.name).toBe(name);
    expect(placed.unplaced, 'registered parsers no protocol folder exports').toEqual([]);
    expect(placed.unregistered, 'protocol folders whose parser is not in the registry').toEqual([]);
    for (const f of placed.folders) expect(existsSync(f.testdata) && readdirSync(f.testdata).some((x) => x.endsWith('.pcap')), `${f.folder} has no recorded capture`).toBe(true);
  });

  for (const [folder, protocol] of Object.entries(FOLDER_PROTOCOL)) {
    it(`claims every ${folder} capture for ${protocol} only`, () => {
      const dir = join(PROTOCOLS_DIR, folder, 'testdata');
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.pcap'))) {
        for (const flow of readPcapFlows(readFileSync(join(dir, file)))) {
          const first = flow.messages[0]!;
          const dir2 = first.fromClient ? 'request' : 'response';
          const claimed = PROTOCOL_PARSERS.filter((p) => p.detect(first.bytes, dir2) === 'yes').map((p) => p.name);
          expect(claimed, `${file} ${dir2}`).toEqual([protocol]);
        }
      }
    });
  }
});
