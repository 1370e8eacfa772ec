#!/usr/bin/env node
// The `weft` executable: runs the built CLI (dist/, made by scripts/setup.mjs or `npm run build`).
// In a checkout where dist/ is missing, it runs the TypeScript sources through tsx instead, so
// `node bin/weft.js` works during development; an installed package always has dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
const source = join(root, 'src', 'cli', 'main.ts');

const ctx = { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
let entry;
if (existsSync(built)) {
  entry = await import(pathToFileURL(built).href);
} else if (existsSync(source) && existsSync(join(root, 'node_modules', 'tsx'))) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = await import(pathToFileURL(source).href);
} else {
  process.stderr.write('weft: not built yet; run `node scripts/setup.mjs` (or `npm start`) first\n');
  process.exit(1);
}
const code = await entry.main(process.argv.slice(2), ctx);
if (code !== 0) process.exitCode = code;
