/**
 * @module Detection across the registry: the first message of every recorded flow is claimed
 * ('yes') by its own parser and by no other, on the non-default ports the captures used.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_PARSERS, parserByName } from './registry.js';
import { readPcapFlows } from './testing/pcap-flows.js';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const FOLDER_PROTOCOL: Record<string, string> = { http1: 'http', dns: 'dns', redis: 'redis', mysql: 'mysql', postgres: 'postgresql' };

describe('registry detection', () => {
  it('lists each protocol once, by name', () => {
    expect(new Set(PROTOCOL_PARSERS.map((p) => p.name)).size).toBe(PROTOCOL_PARSERS.length);
    for (const name of Object.values(FOLDER_PROTOCOL)) expect(parserByName(name)?.name).toBe(name);
  });

  for (const [folder, protocol] of Object.entries(FOLDER_PROTOCOL)) {
    it(`claims every ${folder} capture for ${protocol} only`, () => {
      const dir = join(ROOT, folder, 'testdata');
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
