// npm `install` hook: builds the eBPF side of the agent (vmlinux.h, weft.bpf.o, its skeleton) and
// the N-API addon that loads it, into <root>/build. Idempotent: each step runs only when its
// inputs are newer than its output. Never fails `npm install`: where a tool is missing it prints
// why and exits 0, and the agent then reports eBPF as unavailable (src/agent/ebpf/native.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, readdirSync, copyFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build');
const bpfDir = path.join(root, 'src/agent/bpf');
const nativeDir = path.join(root, 'src/agent/native');
const btf = '/sys/kernel/btf/vmlinux';
const force = process.argv.includes('--force');

function skip(reason) {
  console.log(`weft: eBPF agent not built: ${reason}. The agent will report eBPF as unavailable.`);
  process.exit(0);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** True when `output` is missing or older than any input. */
function stale(output, inputs) {
  if (force) return true;
  const t = mtime(output);
  return t === 0 || inputs.some((i) => mtime(i) > t);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) skip(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

if (process.platform !== 'linux') skip('eBPF needs Linux');
for (const tool of ['clang', 'bpftool', 'pkg-config']) if (!has(tool)) skip(`${tool} is not installed (apt: clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev)`);
if (spawnSync('pkg-config', ['--exists', 'libbpf', 'libelf', 'zlib']).status !== 0) skip('libbpf/libelf/zlib development files are missing (apt: libbpf-dev libelf-dev zlib1g-dev)');
if (!existsSync('/usr/include/node/node_api.h') && !process.env.npm_config_nodedir) skip('Node headers (node_api.h) not found under /usr/include/node');

mkdirSync(out, { recursive: true });

// 1. vmlinux.h from the running kernel's BTF (generated, never committed).
const vmlinux = path.join(out, 'vmlinux.h');
if (!existsSync(vmlinux) || force) {
  if (!existsSync(btf)) skip(`${btf} is missing (kernel built without CONFIG_DEBUG_INFO_BTF)`);
  const text = execFileSync('bpftool', ['btf', 'dump', 'file', btf, 'format', 'c'], { maxBuffer: 256 << 20 });
  writeFileSync(vmlinux + '.tmp', text);
  renameSync(vmlinux + '.tmp', vmlinux);
}

// 2. BPF objects and skeletons: the same programs reading kernel structures with direct loads
// (Linux 6.2+), and, for older kernels, with CO-RE helper reads (weft.bpf.c says why).
const bpfSources = readdirSync(bpfDir).map((f) => path.join(bpfDir, f));
const arch = { x64: 'x86', arm64: 'arm64' }[process.arch] ?? process.arch;
const skeletons = [];
for (const [name, defines] of [
  ['weft', []],
  ['weft_compat', ['-DWEFT_CORE_READS']],
]) {
  const obj = path.join(out, `${name}.bpf.o`);
  if (stale(obj, [...bpfSources, vmlinux])) {
    run('clang', ['-O2', '-g', '-Wall', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, ...defines, '-I', out, '-I', bpfDir, '-c', path.join(bpfDir, 'weft.bpf.c'), '-o', obj]);
  }
  const skel = path.join(out, `${name}.skel.h`);
  if (stale(skel, [obj])) {
    const text = execFileSync('bpftool', ['gen', 'skeleton', obj, 'name', `${name}_bpf`], { maxBuffer: 64 << 20 });
    writeFileSync(skel, text);
  }
  skeletons.push(skel);
}

// 3. The addon, with npm's bundled node-gyp (npx is not available everywhere).
const addon = path.join(out, 'Release', 'weft_native.node');
const nativeSources = readdirSync(nativeDir).filter((f) => !f.startsWith('build')).map((f) => path.join(nativeDir, f));
if (stale(addon, [...nativeSources, ...skeletons, path.join(bpfDir, 'events.h')])) {
  const candidates = [
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    process.env.npm_config_node_gyp,
  ].filter(Boolean);
  const gyp = candidates.find((c) => existsSync(c));
  if (!gyp) skip('node-gyp (bundled with npm) not found');
  const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
  const env = { ...process.env, WEFT_BUILD_DIR: out };
  const common = nodedir ? [`--nodedir=${nodedir}`] : [];
  if (!existsSync(path.join(nativeDir, 'build', 'Makefile')) || force) run(process.execPath, [gyp, 'configure', ...common], { cwd: nativeDir, env });
  run(process.execPath, [gyp, 'build', '-j', '2', ...common], { cwd: nativeDir, env });
  mkdirSync(path.dirname(addon), { recursive: true });
  // Copied beside it and renamed over it: a running agent has the old file mapped, and a copy
  // in place would rewrite its pages under it (SIGBUS in every process using the addon).
  copyFileSync(path.join(nativeDir, 'build', 'Release', 'weft_native.node'), addon + '.tmp');
  renameSync(addon + '.tmp', addon);
}
console.log(`weft: eBPF agent built (${path.relative(root, addon)})`);
