// Installs what is missing, then builds: the first step of `npm start` and `npm test`.
//
// Runs before node_modules exists, so it uses Node builtins only. Idempotent, and fast when
// nothing is missing: every step first checks cheaply whether it has anything to do.
//   1. apt packages (dpkg-query; one `apt-get update` + install when some are missing; root only).
//      Services that apt installs are not started (policy-rc.d answers 101 during the install),
//      so nothing is left listening on 3306/5432/6379/80 that we did not ask for.
//   2. npm dependencies: `npm ci` when node_modules is missing or disagrees with package-lock.json
//      (checked package by package against node_modules/*/package.json versions; no stamp needed).
//   3. native addon and eBPF objects: `node scripts/build-native.mjs` when its inputs changed.
//   4. TypeScript → dist/ (`tsc -p tsconfig.build.json`) when any source changed. Needed by
//      `npx weft` / bin/weft.js; tests run from source through vitest, but `--for-test` builds
//      too, so the end-to-end tests that spawn bin/weft.js run the code under test.
//   5. The web UI bundle (`node scripts/build-ui.mjs`: esbuild, src/ui/app → dist/ui-bundle)
//      when its sources changed or step 4 emptied dist/.
//
// Flags: --for-test (same steps; says so in the log), --quiet.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const started = Date.now();
const STAMP = join(root, '.weft-setup-stamp');

export const APT_PACKAGES = [
  'clang', 'llvm', 'libbpf-dev', 'bpftool', 'libelf-dev', 'zlib1g-dev', 'pkg-config',
  'nginx-light', 'redis-server', 'mariadb-server', 'postgresql', 'tcpdump', 'tshark', 'dnsmasq-base', 'memcached',
  'wrk', 'chromium', 'clickhouse-server', 'clickhouse-client', 'iproute2', 'nftables', 'curl', 'dnsutils', 'ca-certificates',
  'nghttp2-client', 'nghttp2-server', 'nghttp2-proxy',
];

function log(msg) {
  if (!quiet) process.stderr.write(`setup: ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`setup: FAILED: ${msg}\n`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...opts });
  if (r.error) fail(`${cmd} ${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}`);
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return {};
  }
}

function writeStamp(stamp) {
  writeFileSync(STAMP, `${JSON.stringify(stamp, null, 2)}\n`);
}

/** Newest mtime and file count under the given paths (a cheap "did anything change" key). */
function treeKey(paths, skip = () => false) {
  let newest = 0;
  let count = 0;
  const walk = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const child = join(p, name);
        if (!skip(child)) walk(child);
      }
    } else {
      newest = Math.max(newest, st.mtimeMs);
      count += 1;
    }
  };
  for (const p of paths) walk(join(root, p));
  return `${count}:${Math.floor(newest)}`;
}

// ---- 1. apt packages ----
function missingAptPackages() {
  let out = '';
  try {
    out = execFileSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\\n', ...APT_PACKAGES], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (err) {
    // dpkg-query exits 1 when some package is unknown; its stdout still lists the known ones.
    out = typeof err.stdout === 'string' ? err.stdout : '';
    if (err.code === 'ENOENT') return null; // not a Debian system
  }
  const installed = new Set(
    out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, st]) => st === 'ii')
      .map(([name]) => name),
  );
  return APT_PACKAGES.filter((p) => !installed.has(p));
}

function ensureAptPackages() {
  const missing = missingAptPackages();
  if (missing === null) {
    log('apt: dpkg-query not found (not Debian?); skipping system packages');
    return;
  }
  if (missing.length === 0) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    log(`apt: not root, so NOT installing: ${missing.join(' ')} (tests needing them will skip or fail with a reason)`);
    return;
  }
  log(`apt: installing ${missing.join(' ')}`);
  // policy-rc.d exit 101 = "action forbidden": apt installs services without starting them.
  const policy = '/usr/sbin/policy-rc.d';
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-q'], { env });
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
  } finally {
    if (!hadPolicy) rmSync(policy, { force: true });
  }
  const still = missingAptPackages() ?? [];
  if (still.length > 0) log(`apt: still missing after install: ${still.join(' ')}`);
}

// ---- 2. npm dependencies ----
/** Why `npm ci` is needed, or null when node_modules matches package-lock.json. */
function npmInstallReason() {
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  let lock;
  try {
    lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  } catch {
    return null; // no lock file: nothing to compare against; `npm install` is the user's call
  }
  for (const [path, meta] of Object.entries(lock.packages ?? {})) {
    if (path === '' || !path.startsWith('node_modules/') || meta.link) continue;
    let version = null;
    try {
      version = JSON.parse(readFileSync(join(root, path, 'package.json'), 'utf8')).version;
    } catch {
      // Optional packages for other platforms are legitimately absent.
      if (meta.optional) continue;
      if (meta.os || meta.cpu) continue;
      return `${path.slice('node_modules/'.length)} is missing`;
    }
    if (meta.version && version !== meta.version) return `${path.slice('node_modules/'.length)} is ${version}, lock says ${meta.version}`;
  }
  return null;
}

function ensureNpmDependencies() {
  const reason = npmInstallReason();
  if (reason === null) return false;
  log(`npm: ${reason}; running npm ci`);
  run('npm', ['ci', '--no-audit', '--no-fund']);
  return true; // npm ci ran the `install` hook (native build) already
}

// ---- 3. native build ----
const NATIVE_INPUTS = ['scripts/build-native.mjs', 'native', 'bpf', 'src/agent/bpf', 'src/agent/native', 'binding.gyp'];

function ensureNative(stamp, justInstalled) {
  const key = treeKey(NATIVE_INPUTS);
  if (justInstalled) return key;
  if (stamp.native === key) return key;
  log('native: inputs changed; node scripts/build-native.mjs');
  run(process.execPath, [join(root, 'scripts', 'build-native.mjs')]);
  return treeKey(NATIVE_INPUTS);
}

// ---- 4. TypeScript build ----
const TS_INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function ensureBuild(stamp) {
  const key = treeKey(TS_INPUTS, (p) => p.endsWith('.test.ts'));
  if (stamp.dist === key && existsSync(join(root, 'dist', 'cli', 'main.js'))) return key;
  log('build: sources changed; tsc -p tsconfig.build.json');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) fail('typescript is not installed (npm ci should have installed it)');
  // A clean dist, so a deleted source file cannot leave a stale module behind.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  mkdirSync(join(root, 'dist'), { recursive: true });
  run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
  return key;
}

// ---- 5. web UI bundle ----
const UI_INPUTS = ['src/ui/app', 'scripts/build-ui.mjs', 'package-lock.json'];

/** esbuild → dist/ui-bundle; after step 4, which empties dist/ whenever a source changed. */
function ensureUiBundle(stamp) {
  const key = treeKey(UI_INPUTS, (p) => p.endsWith('.test.ts'));
  if (stamp.ui === key && existsSync(join(root, 'dist', 'ui-bundle', 'app.js'))) return key;
  log('ui: sources changed; node scripts/build-ui.mjs');
  run(process.execPath, [join(root, 'scripts', 'build-ui.mjs')]);
  return key;
}

function main() {
  const stamp = readStamp();
  ensureAptPackages();
  const installed = ensureNpmDependencies();
  const lockHash = createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');
  // The stamp is written after each step, so a failing build does not redo the native build.
  const native = ensureNative(stamp, installed);
  writeStamp({ ...stamp, lockHash, native });
  const dist = ensureBuild(stamp);
  writeStamp({ lockHash, native, dist });
  const ui = ensureUiBundle(stamp);
  writeStamp({ lockHash, native, dist, ui });
  log(`ready in ${Date.now() - started} ms${args.has('--for-test') ? ' (for tests)' : ''}`);
}

main();
