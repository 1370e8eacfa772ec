/**
 * @module The agent's end of the hook's channel: a unix stream socket (no TCP/UDP port) that
 * hooked Node.js processes connect to. A channel is accepted only with a token the agent handed to
 * exactly one process through its inspector, so another local process cannot feed links in a
 * hooked process's name; after the hello every line goes to the link store under that pid.
 */
import { chmodSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseReportLine, type ReportLine } from './report-lines.js';
import { innermostPid } from './proc-info.js';

export interface ReportServerEvents {
  /** A channel said hello with the token issued for `pid`. */
  onHello(pid: number, hello: Extract<ReportLine, { kind: 'hello' }>): void;
  onReport(pid: number, report: ReportLine): void;
  /** The channel of `pid` closed (the process exited, or its hook removed itself). */
  onClose(pid: number): void;
}

export interface ReportServer {
  readonly socketPath: string;
  /** A one-use token for `pid`'s hook; valid for `ttlMs`. */
  issueToken(pid: number, ttlMs: number): string;
  close(): Promise<void>;
}

/** A line longer than this is not one the hook writes. */
const MAX_LINE_BYTES = 4096;

/** Removes a socket file left by an agent that died, refusing to take over one still served. */
async function clearStaleSocket(path: string): Promise<void> {
  try {
    if (!statSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const inUse = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (inUse) throw new Error(`another agent serves ${path}`);
  unlinkSync(path);
}

export async function startReportServer(socketPath: string, events: ReportServerEvents): Promise<ReportServer> {
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  await clearStaleSocket(socketPath);
  const tokens = new Map<string, { pid: number; expires: number }>();
  const sockets = new Set<Socket>();

  const onChannel = (sock: Socket): void => {
    sockets.add(sock);
    let pid: number | null = null;
    let carry = '';
    sock.setEncoding('utf8');
    const fail = (): void => {
      sock.destroy();
    };
    sock.on('data', (chunk: string) => {
      const text = carry + chunk;
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      if (carry.length > MAX_LINE_BYTES) return fail();
      for (const line of lines) {
        const r = parseReportLine(line);
        if (pid === null) {
          const issued = r.kind === 'hello' ? tokens.get(r.token) : undefined;
          // The process names itself by its own (namespace) pid; it must be the one we injected.
          if (r.kind !== 'hello' || !issued || issued.expires < Date.now() || innermostPid(issued.pid) !== r.pid) return fail();
          tokens.delete(r.token);
          pid = issued.pid;
          events.onHello(pid, r);
          continue;
        }
        events.onReport(pid, r);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      sockets.delete(sock);
      if (pid !== null) events.onClose(pid);
    });
  };

  const server: Server = createServer(onChannel);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  // Hooked processes may run as any user; the token, not the file mode, is the access check.
  chmodSync(socketPath, 0o666);
  return {
    socketPath,
    issueToken(pid, ttlMs) {
      const now = Date.now();
      for (const [t, v] of tokens) if (v.expires < now) tokens.delete(t);
      const token = randomBytes(16).toString('hex');
      tokens.set(token, { pid, expires: now + ttlMs });
      return token;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      try {
        unlinkSync(socketPath);
      } catch {
        // Already gone.
      }
    },
  };
}
