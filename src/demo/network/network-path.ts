/**
 * @module The network-path demo and test topology: two "nodes" and two "pods", each a network
 * namespace of this machine, wired as a Kubernetes cluster with an overlay would be:
 *
 *   pod A (eth0) ─ veth ─ node1: veth-a ─ br0 ─ [DNAT 10.96.0.10:80 → pod B] ─ vxlan0 ─ eth0 ═╗
 *                                                                        (VXLAN over a veth wire)
 *   pod B (eth0) ─ veth ─ node2: veth-b ─ br0 ───────────────────────────── vxlan0 ─ eth0 ═╝
 *
 * node1 DNATs a service address to pod B with nftables, as kube-proxy's iptables mode does.
 * Every address lives inside these namespaces: none of them has a route out of the machine, and
 * the routes are checked before anything is sent. `destroy()` deletes the namespaces, which
 * takes every interface and the nftables table with them.
 *
 * Real servers run in the pods: nginx and Redis in pod B, a Node service in pod A, so a request
 * `curl (A) → service address → nginx (B) → Node service (A) → Redis (B)` crosses the path three
 * times, once through the DNAT.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopChild } from '../services/process-control.js';

const execFileAsync = promisify(execFile);

/** Addresses: pods from 10.244/16, the overlay from 10.200/24, the wire from RFC 2544's 198.18/15. */
export const PATH_ADDRESSES = {
  podA: '10.244.1.2',
  podB: '10.244.2.2',
  bridge1: '10.244.1.1',
  bridge2: '10.244.2.1',
  overlay1: '10.200.0.1',
  overlay2: '10.200.0.2',
  wire1: '198.18.12.1',
  wire2: '198.18.12.2',
  service: '10.96.0.10',
} as const;

/** Ports of the servers in the pods (the service address listens on 80). */
export const PATH_PORTS = { service: 80, nginx: 18080, app: 13000, redis: 16379 } as const;

/** The interface patterns an agent of either node captures on. */
export const PATH_INTERFACES = ['eth0', 'br*', 'vxlan*', 'veth*'];

export interface NetworkPath {
  /** Namespace names. */
  ns: { node1: string; node2: string; podA: string; podB: string };
  /** Runs a command inside a namespace; resolves with its stdout. */
  exec(ns: string, cmd: string, args: readonly string[]): Promise<string>;
  destroy(): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Names of the namespaces a path creates: `wft-<role>-<creator pid>-<random>`. */
const PATH_NAMESPACE = /^wft-(?:n1|n2|pa|pb)-(\d+)-[0-9a-f]+$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, and is somebody else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the namespaces of earlier paths whose creator is gone without destroy() (killed, or a
 * test run cut short), once nothing runs in them any more: each run would otherwise leave four.
 * A namespace with a process still inside is left alone (that process is not ours to end).
 */
export function removeOrphanedPaths(): string[] {
  let names: string[];
  try {
    names = ip('netns', 'list')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = PATH_NAMESPACE.exec(n);
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      if (ip('netns', 'pids', n).trim() !== '') continue;
      ip('netns', 'del', n);
      removed.push(n);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return removed;
}

/** Creates the namespaces, links, addresses, routes and the DNAT; checks every route stays inside. */
export function createNetworkPath(tag = `${process.pid}-${randomBytes(3).toString('hex')}`): NetworkPath {
  removeOrphanedPaths();
  const ns = { node1: `wft-n1-${tag}`, node2: `wft-n2-${tag}`, podA: `wft-pa-${tag}`, podB: `wft-pb-${tag}` };
  const created: string[] = [];
  const destroy = (): void => {
    for (const n of created.splice(0).reverse()) {
      try {
        ip('netns', 'del', n);
      } catch {
        // already gone
      }
    }
  };
  const A = PATH_ADDRESSES;
  try {
    for (const n of Object.values(ns)) {
      ip('netns', 'add', n);
      created.push(n);
      ip('-n', n, 'link', 'set', 'lo', 'up');
    }
    // The wire between the nodes, and each pod's veth (made in the node, its peer in the pod).
    ip('-n', ns.node1, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.node2);
    ip('-n', ns.node1, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.podA);
    ip('-n', ns.node2, 'link', 'add', 'veth-b', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.podB);
    const node = (n: string, wire: string, peerWire: string, overlay: string, bridge: string, vethName: string, remotePods: string, remoteOverlay: string): void => {
      ip('-n', n, 'addr', 'add', `${wire}/24`, 'dev', 'eth0');
      ip('-n', n, 'link', 'set', 'eth0', 'up');
      ip('-n', n, 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '42', 'local', wire, 'remote', peerWire, 'dev', 'eth0', 'dstport', '4789');
      ip('-n', n, 'addr', 'add', `${overlay}/24`, 'dev', 'vxlan0');
      ip('-n', n, 'link', 'set', 'vxlan0', 'up');
      ip('-n', n, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', n, 'addr', 'add', `${bridge}/24`, 'dev', 'br0');
      ip('-n', n, 'link', 'set', 'br0', 'up');
      ip('-n', n, 'link', 'set', vethName, 'master', 'br0');
      ip('-n', n, 'link', 'set', vethName, 'up');
      ip('-n', n, 'route', 'add', remotePods, 'via', remoteOverlay, 'dev', 'vxlan0');
      execFileSync('ip', ['netns', 'exec', n, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    };
    node(ns.node1, A.wire1, A.wire2, A.overlay1, A.bridge1, 'veth-a', '10.244.2.0/24', A.overlay2);
    node(ns.node2, A.wire2, A.wire1, A.overlay2, A.bridge2, 'veth-b', '10.244.1.0/24', A.overlay1);
    const pod = (n: string, addr: string, gw: string): void => {
      ip('-n', n, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      ip('-n', n, 'link', 'set', 'eth0', 'up');
      ip('-n', n, 'route', 'add', 'default', 'via', gw, 'dev', 'eth0');
    };
    pod(ns.podA, A.podA, A.bridge1);
    pod(ns.podB, A.podB, A.bridge2);
    // kube-proxy's iptables mode, in nftables: the service address is DNATed before routing.
    const rules = `table ip weft_svc {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${A.service} tcp dport ${PATH_PORTS.service} dnat to ${A.podB}:${PATH_PORTS.nginx}
  }
}
`;
    execFileSync('ip', ['netns', 'exec', ns.node1, 'nft', '-f', '-'], { input: rules });
    // Every route the demo uses must stay on these links (the namespaces have no other).
    const expectRoute = (n: string, to: string, dev: string): void => {
      const r = ip('-n', n, 'route', 'get', to);
      if (!r.includes(`dev ${dev}`)) throw new Error(`route check failed in ${n}: ${to} → ${r.trim()} (expected dev ${dev})`);
    };
    expectRoute(ns.podA, A.service, 'eth0');
    expectRoute(ns.podA, A.podB, 'eth0');
    expectRoute(ns.podB, A.podA, 'eth0');
    expectRoute(ns.node1, A.podB, 'vxlan0');
    expectRoute(ns.node2, A.podA, 'vxlan0');
    expectRoute(ns.node1, A.wire2, 'eth0');
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    ns,
    async exec(n, cmd, args) {
      const { stdout } = await execFileAsync('ip', ['netns', 'exec', n, cmd, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
      return stdout;
    },
    destroy,
  };
}

/** The package root, from src/demo/network or dist/demo/network alike. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const APP = join(PACKAGE_ROOT, 'src', 'demo', 'apps', 'path-service.mjs');

export interface PathServices {
  /** Pids of the servers, by name (redis, app, nginx). */
  pids: Record<string, number>;
  /** The URL a client in pod A sends requests to (the service address). */
  url: string;
  stop(): Promise<void>;
}

/** Resolves when `ip:port` accepts a connection from inside namespace `from`. */
async function waitListening(path: NetworkPath, from: string, addr: string, port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try {
      await path.exec(from, 'bash', ['-c', `exec 3<>/dev/tcp/${addr}/${port}`]);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} does not accept connections on ${addr}:${port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts Redis and nginx in pod B and the Node service in pod A. */
export async function startPathServices(path: NetworkPath): Promise<PathServices> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-path-'));
  const children: ChildProcess[] = [];
  const A = PATH_ADDRESSES;
  const P = PATH_PORTS;
  const start = (n: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess => {
    // `ip netns exec` execs the command itself: the pid is the server's.
    const child = spawn('ip', ['netns', 'exec', n, cmd, ...args], { stdio: 'ignore', env });
    children.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    for (const c of children.splice(0).reverse()) await stopChild(c).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const redis = start(path.ns.podB, 'redis-server', ['--port', String(P.redis), '--bind', A.podB, '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no']);
    await waitListening(path, path.ns.podA, A.podB, P.redis, redis, 'redis');
    // WEFT_NODE_HOOK=1: the service asks to be hooked by the agent of its node, whatever the
    // environment it was started from says (a test runner opts its own children out).
    const app = start(path.ns.podA, process.execPath, [APP], { ...process.env, HOST: A.podA, PORT: String(P.app), REDIS_HOST: A.podB, REDIS_PORT: String(P.redis), WEFT_NODE_HOOK: '1' });
    await waitListening(path, path.ns.podB, A.podA, P.app, app, 'the Node service');
    const nginxDir = join(dir, 'nginx');
    mkdirSync(nginxDir);
    const conf = `
user root;
worker_processes 1;
daemon off;
pid ${join(nginxDir, 'nginx.pid')};
error_log ${join(nginxDir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(nginxDir, 'body')};
  proxy_temp_path ${join(nginxDir, 'proxy')};
  fastcgi_temp_path ${join(nginxDir, 'fastcgi')};
  uwsgi_temp_path ${join(nginxDir, 'uwsgi')};
  scgi_temp_path ${join(nginxDir, 'scgi')};
  server {
    listen ${A.podB}:${P.nginx};
    # A tiny answer from nginx itself: the benchmark's load through the path (bench/network-path.ts).
    location = /static { return 200 "ok\\n"; }
    location / { proxy_pass http://${A.podA}:${P.app}; }
  }
}
`;
    writeFileSync(join(nginxDir, 'nginx.conf'), conf);
    const nginx = start(path.ns.podB, 'nginx', ['-c', join(nginxDir, 'nginx.conf'), '-p', nginxDir]);
    await waitListening(path, path.ns.podA, A.service, P.service, nginx, 'nginx (through the service address)');
    return {
      pids: { redis: redis.pid ?? 0, app: app.pid ?? 0, nginx: nginx.pid ?? 0 },
      url: `http://${A.service}:${P.service}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
