/**
 * @module Which folder under src/agent/protocols holds each registered parser, found by
 * importing every `<folder>/index.ts` and matching its exports against the registry. The
 * protocol test suites (golden, property, detection) iterate this, so a parser added to the
 * registry is tested without anyone listing it, and a folder whose parser is not registered is
 * reported instead of silently skipped.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyProtocolParser } from '../protocol.js';
import { PROTOCOL_PARSERS } from '../registry.js';

export const PROTOCOLS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ProtocolFolder {
  folder: string;
  parser: AnyProtocolParser;
  /** `<folder>/testdata`, where its recorded captures live. */
  testdata: string;
}

export interface ProtocolFolders {
  /** One per registered parser whose folder was found, in registry order. */
  folders: ProtocolFolder[];
  /** Registered parsers no folder exports. */
  unplaced: string[];
  /** Folders with an index.ts that exports no registered parser. */
  unregistered: string[];
}

export async function protocolFolders(): Promise<ProtocolFolders> {
  const found = new Map<AnyProtocolParser, string>();
  const unregistered: string[] = [];
  const dirs = readdirSync(PROTOCOLS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'testing' && existsSync(join(PROTOCOLS_DIR, d.name, 'index.ts')));
  for (const d of dirs.sort((a, b) => a.name.localeCompare(b.name))) {
    const mod = (await import(pathToFileURL(join(PROTOCOLS_DIR, d.name, 'index.ts')).href)) as Record<string, unknown>;
    const parser = PROTOCOL_PARSERS.find((p) => Object.values(mod).includes(p));
    if (parser) found.set(parser, d.name);
    else unregistered.push(d.name);
  }
  const folders: ProtocolFolder[] = [];
  const unplaced: string[] = [];
  for (const parser of PROTOCOL_PARSERS) {
    const folder = found.get(parser);
    if (folder === undefined) unplaced.push(parser.name);
    else folders.push({ folder, parser, testdata: join(PROTOCOLS_DIR, folder, 'testdata') });
  }
  return { folders, unplaced, unregistered };
}
