/**
 * @module Runs a throwaway ClickHouse server (Debian's clickhouse-server, 18.16 in CI) for tests
 * and benchmarks: data in a temp dir, free loopback ports, optional cluster definition, stopped
 * and restarted by its own pid. Nothing here touches the system's ClickHouse service.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SERVER_BINARIES = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server', '/usr/bin/clickhouse'];
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/** The clickhouse-server binary, or null when ClickHouse is not installed. */
export function clickHouseBinary(): { path: string; args: string[] } | null {
  for (const p of SERVER_BINARIES) {
    if (!existsSync(p)) continue;
    // The single-binary builds (current ClickHouse) take `server` as their first argument.
    return p.endsWith('/clickhouse') ? { path: p, args: ['server'] } : { path: p, args: [] };
  }
  return null;
}

function tryListen(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, host, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A TCP port free on every given loopback address (bound then released; the server binds it
 * moments later). Several addresses: a cluster whose nodes share their ports, as production nodes do.
 */
export async function freePort(hosts: readonly string[] = ['127.0.0.1']): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tryListen(hosts[0] ?? '127.0.0.1', 0);
    if (port === null) continue;
    let ok = true;
    for (const h of hosts.slice(1)) if ((await tryListen(h, port)) === null) ok = false;
    if (ok) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

export interface ClusterShard {
  /** Loopback address of the shard's server (127.0.0.1, 127.0.0.2, …). */
  host: string;
  tcpPort: number;
}

export interface ClickHouseProcessOptions {
  /** Loopback address to listen on (default 127.0.0.1); nodes of a test cluster take 127.0.0.2, … */
  host?: string;
  httpPort?: number;
  tcpPort?: number;
  /** A cluster (name → its shards' native ports on 127.0.0.1) in remote_servers. */
  cluster?: { name: string; shards: ClusterShard[] };
  /** Server-wide compression method for parts (`lz4`, the default, or `zstd`). */
  compression?: 'lz4' | 'zstd';
  /** Record every query in system.query_log (benchmarks profile the trace walk's queries). */
  queryLog?: boolean;
}

export interface ClickHouseProcess {
  readonly url: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly dir: string;
  pid(): number | undefined;
  /**
   * SIGTERM and wait for exit (SIGKILL after a grace period; 18.16 takes ~8 s to shut down), or
   * with `'SIGKILL'` a crash: the process is gone at once, parts already written stay.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Start again with the same data and ports. */
  start(): Promise<void>;
  /** Stop and delete the data directory. */
  destroy(): Promise<void>;
}

function configXml(dir: string, host: string, httpPort: number, tcpPort: number, o: ClickHouseProcessOptions): string {
  const cluster = o.cluster
    ? `<remote_servers><${o.cluster.name}>${o.cluster.shards
        .map((s) => `<shard><replica><host>${s.host}</host><port>${s.tcpPort}</port></replica></shard>`)
        .join('')}</${o.cluster.name}></remote_servers>`
    : '';
  const compression = o.compression === 'zstd' ? '<compression><case><min_part_size>0</min_part_size><min_part_size_ratio>0</min_part_size_ratio><method>zstd</method></case></compression>' : '';
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>${host}</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  ${cluster}
  ${compression}
</yandex>
`;
}

const usersXml = (o: ClickHouseProcessOptions): string => `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage>${o.queryLog ? '<log_queries>1</log_queries>' : ''}</default></profiles>
  <users><default><password></password><networks><ip>127.0.0.0/8</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

async function waitReady(url: string, child: ChildProcess, dir: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`clickhouse-server exited with ${child.exitCode}; see ${dir}/server.err.log`);
    try {
      const res = await fetch(`${url}/ping`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`clickhouse-server did not answer /ping within ${START_TIMEOUT_MS} ms; see ${dir}/server.err.log`);
}

/** Starts a ClickHouse server. Throws when the binary is missing or the server does not come up. */
export async function startClickHouse(opts: ClickHouseProcessOptions = {}): Promise<ClickHouseProcess> {
  const bin = clickHouseBinary();
  if (bin === null) throw new Error('clickhouse-server is not installed (scripts/setup.mjs installs it as root)');
  const dir = mkdtempSync(join(tmpdir(), 'weft-ch-'));
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dir, sub), { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  const httpPort = opts.httpPort ?? (await freePort([host]));
  const tcpPort = opts.tcpPort ?? (await freePort([host]));
  writeFileSync(join(dir, 'config.xml'), configXml(dir, host, httpPort, tcpPort, opts));
  writeFileSync(join(dir, 'users.xml'), usersXml(opts));
  const url = `http://${host}:${httpPort}`;
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const c = spawn(bin.path, [...bin.args, `--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: 'ignore' });
    child = c;
    // A test or bench process that dies without its afterAll must not leave the server behind.
    const reap = (): void => void c.kill('SIGKILL');
    process.once('exit', reap);
    c.once('exit', () => process.off('exit', reap));
    await waitReady(url, c, dir);
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url,
    httpPort,
    tcpPort,
    dir,
    pid: () => (child as ChildProcess | null)?.pid,
    stop,
    start,
    destroy: async () => {
      // The data is thrown away, so there is nothing to shut down cleanly for.
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The server's version string (`18.16.1`), for test names and benchmark reports. */
export function clickHouseVersion(): string {
  const r = spawnSync('clickhouse-client', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

/**
 * A test cluster: `shards` servers, one shard each, on 127.0.0.1, 127.0.0.2, … sharing one HTTP
 * port (as production nodes do, so a Weft server finds every node at its URL's port) with
 * distinct native ports (a node takes any 127.x address with its own native port for itself,
 * and would read its own shard twice).
 */
export async function startClickHouseCluster(name: string, shards: number): Promise<ClickHouseProcess[]> {
  const hosts = Array.from({ length: shards }, (_, i) => `127.0.0.${i + 1}`);
  const httpPort = await freePort(hosts);
  const tcpPorts: number[] = [];
  for (const h of hosts) {
    let p = await freePort([h]);
    while (p === httpPort || tcpPorts.includes(p)) p = await freePort([h]);
    tcpPorts.push(p);
  }
  const cluster = { name, shards: hosts.map((host, i) => ({ host, tcpPort: tcpPorts[i] ?? 0 })) };
  return Promise.all(hosts.map((host, i) => startClickHouse({ host, httpPort, tcpPort: tcpPorts[i] ?? 0, cluster })));
}
