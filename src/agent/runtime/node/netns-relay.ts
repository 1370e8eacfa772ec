/**
 * @module Reaching an inspector that listens in another network namespace (a pod's): its
 * 127.0.0.1 is not ours. A short-lived relay process is started inside the target's namespace
 * (`nsenter --net=/proc/PID/ns/net`, so it needs what the agent already needs: root) and listens
 * on a unix socket, which every namespace that shares our filesystem reaches; each connection to
 * that socket is piped to the inspector's address in the target's namespace. HTTP (`/json/list`)
 * and the WebSocket then go through real sockets, with no shims.
 *
 * The relay lives for one attach: `close()` ends it (by its pid, which we started) and removes the
 * socket file. The relay also exits on its own when its stdin closes, so an agent that dies
 * leaves no relay behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

export interface NetnsRelay {
  /** The unix socket to connect to instead of host:port. */
  readonly socketPath: string;
  close(): void;
}

/** Runs inside the target's namespace: one unix listener, each connection piped to host:port. */
const RELAY_SCRIPT = `
const net = require('node:net');
const [sock, host, port] = process.argv.slice(1);
const server = net.createServer((c) => {
  const up = net.connect(Number(port), host);
  c.pipe(up); up.pipe(c);
  c.on('error', () => up.destroy()); up.on('error', () => c.destroy());
});
server.listen(sock, () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`;

let relayCount = 0;

/** Starts a relay to `host:port` inside `pid`'s network namespace; rejects within `timeoutMs`. */
export async function startNetnsRelay(pid: number, host: string, port: number, dir: string, timeoutMs: number): Promise<NetnsRelay> {
  const socketPath = join(dir, `inspector-relay-${process.pid}-${pid}-${++relayCount}.sock`);
  rmSync(socketPath, { force: true });
  // The bracketed IPv6 form is the URL's; net.connect wants the bare address.
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const child: ChildProcess = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', RELAY_SCRIPT, socketPath, bare, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Not a target of any agent's Node.js hook: it listens on no TCP port, and says so anyway.
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', WEFT_NODE_HOOK: '0' },
  });
  const close = (): void => {
    child.stdin?.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    rmSync(socketPath, { force: true });
  };
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-500);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the relay into pid ${pid}'s network namespace did not start within ${timeoutMs} ms`)), timeoutMs);
      child.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`nsenter: ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the relay into pid ${pid}'s network namespace exited (${code}): ${stderr.trim() || 'no output'}`));
      });
    });
  } catch (err) {
    close();
    throw err;
  }
  child.removeAllListeners('exit');
  return { socketPath, close };
}
