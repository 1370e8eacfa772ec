/**
 * @module `weft demo --network`: the network-path demo (src/demo/network/network-path.ts) traced
 * by one agent per "node", each entering its node's namespace and capturing on
 * `eth0,br*,vxlan*,veth*` with the observation points inferred, both shipping to a running Weft.
 * The demo's agents capture frames only; the processes in the pods are traced by the running
 * Weft's own agent (`npm start` as root), so no SYS span is doubled.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { startAgent, type RunningAgent } from '../agent/index.js';
import { createNetworkPath, PATH_INTERFACES, PATH_PORTS, startPathServices } from '../demo/network/network-path.js';

export interface NetworkDemoOptions {
  queryUrl: string;
  otlpUrl: string;
  requests: number;
  token?: string;
  progress: (line: string) => void;
}

export interface NetworkDemoRun {
  traceIds: string[];
  stop(): Promise<void>;
}

export async function runNetworkDemo(o: NetworkDemoOptions): Promise<NetworkDemoRun> {
  try {
    await (await fetch(`${o.queryUrl}/healthz`)).arrayBuffer();
  } catch (err) {
    throw new Error(`no Weft server answers at ${o.queryUrl} (${(err as Error).message}); start one with \`npm start\` first, or pass --server`);
  }
  o.progress('creating the namespaces: node1, node2 (VXLAN over a veth wire), pod A, pod B, and node1\'s DNAT of 10.96.0.10:80 …');
  const path = createNetworkPath();
  const agents: RunningAgent[] = [];
  let services: Awaited<ReturnType<typeof startPathServices>> | null = null;
  const stop = async (): Promise<void> => {
    await services?.stop();
    for (const a of agents.splice(0)) await a.close();
    path.destroy();
  };
  try {
    const logger = pino({ level: 'warn' });
    for (const node of [path.ns.node1, path.ns.node2]) {
      agents.push(
        await startAgent({
          serverUrl: o.otlpUrl,
          interfaces: PATH_INTERFACES,
          netns: [node],
          hostId: node,
          syscalls: false,
          logger,
          ...(o.token ? { token: o.token } : {}),
          ebpf: { ports: Object.values(PATH_PORTS) },
        }),
      );
    }
    o.progress('starting Redis and nginx in pod B, the Node service in pod A …');
    services = await startPathServices(path);
    const traceIds: string[] = [];
    o.progress(`sending ${o.requests} requests from pod A to ${services.url} (curl → nginx → Node service → Redis) …`);
    for (let i = 0; i < o.requests; i++) {
      const id = randomBytes(16).toString('hex');
      await path.exec(path.ns.podA, 'curl', ['-sf', '-o', '/dev/null', '-H', `traceparent: 00-${id}-${randomBytes(8).toString('hex')}-01`, `${services.url}/demo-${i}`]);
      traceIds.push(id);
    }
    return { traceIds, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
