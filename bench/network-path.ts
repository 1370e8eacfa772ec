/**
 * @module Network-path benchmark: wrk in pod A against nginx in pod B through the service address
 * (node1's DNAT, bridges, VXLAN over a veth wire; src/demo/network/network-path.ts), untraced vs
 * traced by one frames-only agent per node capturing on one kind of interface at a time: the
 * bridges, the VXLAN devices, the uplinks (VXLAN decapsulated in the agent), or every hop.
 * Phases alternate in one run. Reports throughput kept (traced / untraced), the agents' CPU per
 * frame they decoded and per request served (this process runs both agents: its CPU time over
 * the frames they decoded, or over wrk's requests), and frames decoded per request (bare ACKs
 * are dropped in the tc program, so they are not decoded, nor counted).
 *
 * Run alone: `npm run bench -- network-path` (root; wrk, nginx, redis from Debian).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { ebpfAvailability } from '../src/agent/ebpf/native.js';
import { startAgent, type RunningAgent } from '../src/agent/index.js';
import { createNetworkPath, PATH_PORTS, startPathServices } from '../src/demo/network/network-path.js';

const run = promisify(execFile);

export interface NetworkPathBenchOptions {
  phaseSeconds?: number;
  rounds?: number;
  connections?: number;
}

interface Capture {
  name: string;
  interfaces: string[];
}

const CAPTURES: Capture[] = [
  { name: 'bridge', interfaces: ['br*'] },
  { name: 'vxlan-device', interfaces: ['vxlan*'] },
  { name: 'uplink-decap', interfaces: ['eth0'] },
  { name: 'every-hop', interfaces: ['eth0', 'br*', 'vxlan*', 'veth*'] },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/**
 * WEFT_BENCH_NETPATH_PROFILE=DIR writes a CPU profile of each capture's first traced phase there.
 * Started through the inspector once the programs are loaded: `node --cpu-prof`'s SIGPROF
 * interrupts the kernel's verifier, and the load fails with EAGAIN.
 */
const PROFILE_DIR = process.env['WEFT_BENCH_NETPATH_PROFILE'] ?? '';

async function startProfile(): Promise<{ stop(file: string): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await writeFile(file, JSON.stringify(profile));
      return file;
    },
  };
}

export async function runNetworkPathBench(log: (line: string) => void, o: NetworkPathBenchOptions = {}): Promise<unknown> {
  const a = ebpfAvailability();
  if (!a.ok) throw new Error(`network-path needs eBPF: ${a.reason}`);
  const phase = o.phaseSeconds ?? 4;
  const rounds = o.rounds ?? 3;
  const conns = o.connections ?? 16;
  const path = createNetworkPath();
  const services = await startPathServices(path).catch((err: unknown) => {
    path.destroy();
    throw err;
  });
  let lastRequests = 0;
  const wrk = async (): Promise<number> => {
    const { stdout } = await run('ip', ['netns', 'exec', path.ns.podA, 'wrk', '-t1', `-c${conns}`, `-d${phase}s`, `${services.url}/static`]);
    const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
    const n = /(\d+) requests in/.exec(stdout);
    if (!m || !n) throw new Error(`wrk said: ${stdout}`);
    lastRequests = Number(n[1]);
    return Number(m[1]);
  };
  const sink = { submit: async (): Promise<void> => undefined };
  const untraced: number[] = [];
  interface Slot {
    rps: number[];
    pairRatios: number[];
    cpuNanosPerFrame: number[];
    cpuNanosPerRequest: number[];
    framesPerRequest: number[];
    framesPerSecond: number[];
  }
  const traced = new Map<string, Slot>(CAPTURES.map((c) => [c.name, { rps: [], pairRatios: [], cpuNanosPerFrame: [], cpuNanosPerRequest: [], framesPerRequest: [], framesPerSecond: [] }]));
  try {
    await wrk(); // warm-up: connections, caches, conntrack
    for (let r = 0; r < rounds; r++) {
      for (const c of CAPTURES) {
        const u = await wrk();
        untraced.push(u);
        const agents: RunningAgent[] = [];
        for (const node of [path.ns.node1, path.ns.node2]) {
          agents.push(await startAgent({ sink, interfaces: c.interfaces, netns: [node], hostId: node, syscalls: false, nodeHook: false, logger: pino({ level: 'silent' }), ebpf: { ports: Object.values(PATH_PORTS) } }));
        }
        const metric = (name: string): number => agents.reduce((n, ag) => n + Number(ag.metrics().find((m) => m.name === name)?.value ?? 0), 0);
        const frames = (): number => metric('weft_agent_frames_total');
        const f0 = frames();
        const profiling = PROFILE_DIR && r === 0 ? await startProfile() : null;
        const cpu0 = process.cpuUsage();
        const t = await wrk();
        const cpu = process.cpuUsage(cpu0);
        if (profiling) log(`  profile of the ${c.name} phase: ${await profiling.stop(join(PROFILE_DIR, `network-path-${c.name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`))}`);
        const f = frames() - f0;
        const bareAcks = metric('weft_agent_bare_ack_frames_total');
        for (const ag of agents) await ag.close();
        const slot = traced.get(c.name) as Slot;
        const cpuNanos = (cpu.user + cpu.system) * 1000;
        slot.rps.push(t);
        slot.pairRatios.push(t / u);
        slot.cpuNanosPerFrame.push(f > 0 ? cpuNanos / f : 0);
        slot.cpuNanosPerRequest.push(lastRequests > 0 ? cpuNanos / lastRequests : 0);
        slot.framesPerRequest.push(lastRequests > 0 ? f / lastRequests : 0);
        slot.framesPerSecond.push(f / phase);
        log(`round ${r + 1}: untraced ${u.toFixed(0)} rps, ${c.name} traced ${t.toFixed(0)} rps (${(t / u).toFixed(3)}), ${(f / phase).toFixed(0)} frames/s, ${(f / Math.max(1, lastRequests)).toFixed(2)} frames/request, ${(slot.cpuNanosPerFrame.at(-1) ?? 0).toFixed(0)} ns agent CPU/frame, ${(slot.cpuNanosPerRequest.at(-1) ?? 0).toFixed(0)} ns/request, ${bareAcks} bare ACKs reached user space`);
      }
    }
  } finally {
    await services.stop();
    path.destroy();
  }
  const u = median(untraced);
  const result: Record<string, unknown> = { untracedRps: u, connections: conns, phaseSeconds: phase, rounds };
  for (const [name, s] of traced) {
    // Each traced phase against the untraced phase just before it: the machine's load drifts
    // between rounds more than between two neighbouring phases.
    result[name] = {
      tracedRps: median(s.rps),
      kept: median(s.pairRatios),
      pairRatios: s.pairRatios,
      framesPerSecond: median(s.framesPerSecond),
      framesPerRequest: median(s.framesPerRequest),
      agentCpuNanosPerFrame: median(s.cpuNanosPerFrame),
      agentCpuNanosPerRequest: median(s.cpuNanosPerRequest),
    };
    log(`${name}: kept ${median(s.pairRatios).toFixed(3)} of untraced throughput (median of pairs), ${median(s.framesPerRequest).toFixed(2)} frames/request, ${median(s.cpuNanosPerFrame).toFixed(0)} ns agent CPU per frame, ${median(s.cpuNanosPerRequest).toFixed(0)} ns per request`);
  }
  return result;
}
