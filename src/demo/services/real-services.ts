/**
 * @module The real servers from Debian that the demo and the end-to-end tests run: Redis,
 * MariaDB, PostgreSQL, dnsmasq and nginx, each on 127.0.0.1 with its data in a temp dir.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startService, type RunningService } from './process-control.js';

const run = promisify(execFile);

export async function startRedis(dir: string): Promise<RunningService> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  return startService('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'], port);
}

export async function startMariaDb(dir: string): Promise<RunningService> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  // Its own tmpdir: two installs at once in /tmp collide on their temporary tables.
  const tmp = `${dir}.tmp`;
  mkdirSync(tmp, { recursive: true });
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${dir}`, `--tmpdir=${tmp}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 120_000 });
  // No passwords in a throwaway, loopback-only database: skip-grant-tables lets the demo connect as root.
  return startService(
    'mariadb',
    'mariadbd',
    ['--no-defaults', `--datadir=${dir}`, `--tmpdir=${tmp}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${join(dir, 'mysqld.sock')}`, '--user=root', '--skip-grant-tables', `--log-error=${join(dir, 'error.log')}`, `--pid-file=${join(dir, 'mariadb.pid')}`, '--skip-log-bin', '--innodb-buffer-pool-size=16M'],
    port,
    { readyTimeoutMs: 60_000 },
  );
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * PostgreSQL refuses to run as root, so it runs as the `postgres` user Debian's package made, in
 * a temp dir of its own (the caller's dir may sit below a root-only 0700 temp dir).
 */
export async function startPostgres(): Promise<RunningService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'weft-pg-'));
  const { stdout } = await run('id', ['-u', 'postgres']);
  const uid = Number(stdout.trim());
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  chownSync(dir, uid, Number(g.trim()));
  const asPostgres = (cmd: string, args: string[]): [string, string[]] => (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const [initCmd, initArgs] = asPostgres(join(PG_BIN, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync']);
  await run(initCmd, initArgs, { timeout: 120_000 });
  const [cmd, args] = asPostgres(join(PG_BIN, 'postgres'), ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-h', '127.0.0.1', '-c', 'fsync=off']);
  return startService('postgresql', cmd, args, port, { readyTimeoutMs: 60_000 });
}

/** dnsmasq answering `names` (name → IPv4) authoritatively, and nothing else. */
export async function startDns(names: Record<string, string>): Promise<RunningService> {
  const port = await freePort();
  const args = ['--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--user=root', '--log-facility=-'];
  for (const [name, ip] of Object.entries(names)) args.push(`--address=/${name}/${ip}`);
  // dnsmasq also listens on TCP, so waiting for the TCP port works.
  return startService('dns', 'dnsmasq', args, port);
}

export interface NginxOptions {
  /** Where to proxy `/`. */
  upstreamPort: number;
  /** Add `X-Request-ID: $request_id` to proxied requests (nginx generates one per request). */
  addRequestId: boolean;
}

export async function startNginx(dir: string, o: NginxOptions): Promise<RunningService> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const conf = `
user root;
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  upstream app { server 127.0.0.1:${o.upstreamPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location = /nginx-health { return 200 "ok\\n"; }
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      ${o.addRequestId ? 'proxy_set_header X-Request-ID $request_id;' : ''}
    }
  }
}
`;
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  return startService('nginx', 'nginx', ['-c', confPath, '-p', dir], port);
}
