/**
 * @module The query port's front door: a worker thread owns the query port's listening socket,
 * answers `GET /healthz` and `GET /metrics` itself, and passes every other connection through,
 * byte for byte, to the query server (Fastify) on the main thread, which listens on an internal
 * loopback port.
 *
 * Why a thread: under ingest load the main thread always has work (decoding, store steps), so
 * the kernel treats it as a CPU-bound task, and on a busy host it waits in the run queue for
 * hundreds of ms before it runs again, however short its turns are. Measured under 2× overload
 * beside other work (load 7-12, 2 cores, /healthz every 50 ms): the main thread answered with
 * p99 452 ms, max 1.2 s, and 77% of the time of its slow answers was the main thread waiting for
 * a core (schedstat run-queue delay), 16% its own work (GC, steps); a thread of the same process
 * that only answers /healthz, p99 99 ms, max 125 ms, the same as a separate idle process (87 /
 * 125 ms): a thread that mostly sleeps is woken ahead of busy ones. Node 20 has no SO_REUSEPORT
 * and cannot hand a socket to a thread, so the thread owns the port and forwards what it does
 * not answer.
 *
 * What the answers mean:
 * - /healthz is 200 while the main thread's event loop turns (a heartbeat every 100 ms, shared
 *   memory), 503 `TRC_SERVER_STALLED` once it has not turned for STALLED_MS: the health of the
 *   process that does the work, not of this thread.
 * - /metrics asks the main thread for a fresh scrape and waits METRICS_FRESH_WAIT_MS for it;
 *   when the main thread is slower, the last scrape is answered (its age in
 *   `weft_metrics_snapshot_age_seconds`), and the late one replaces it for the next scrape.
 *   With `--token`, /metrics needs it here as on every other route.
 *
 * Anything else, or anything unusual about a /healthz or /metrics request (a body, an upgrade,
 * a head past 16 KiB, not HTTP/1.x), goes to the main thread's server unchanged: its limits,
 * timeouts, error shapes and token checks apply as before. From the first such request on, the
 * connection is passed through to its end. The main thread learns each passed connection's
 * real peer address (for the gzip-on-loopback rule and logs) by message, before its first byte.
 */
import { Worker } from 'node:worker_threads';
import type { Server, Socket } from 'node:net';

/** How often the main thread's loop marks that it turned, ms. */
const HEARTBEAT_MS = 100;
/** /healthz is 503 once the main loop has not turned for this long, ms. */
export const STALLED_MS = 10_000;
/** How long a /metrics request waits for a fresh scrape before the last one is answered, ms. */
export const METRICS_FRESH_WAIT_MS = 250;
/** A request head longer than this is passed through (the main server answers 431 in the API's shape). */
const MAX_FRONT_HEAD_BYTES = 16 * 1024;

/** What the worker is started with (structured-cloned, plus the shared heartbeat). */
interface FrontDoorData {
  host: string;
  port: number;
  upstreamPort: number;
  token: string | null;
  store: string;
  heartbeat: SharedArrayBuffer;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  stalledMs: number;
  metricsWaitMs: number;
  maxHeadBytes: number;
}

type ToWorker = { type: 'metrics'; id: number; text: string } | { type: 'peer-known'; port: number } | { type: 'closing' } | { type: 'close' };
type FromWorker = { type: 'listening'; port: number } | { type: 'listen-error'; message: string } | { type: 'scrape'; id: number } | { type: 'peer'; port: number; address: string } | { type: 'closed' };

export interface FrontDoorOptions {
  host: string;
  port: number;
  /** The main thread's query server (listening on 127.0.0.1:upstreamPort). */
  upstream: Server;
  upstreamPort: number;
  token: string | null;
  /** Store kind, reported by /healthz. */
  store: string;
  /** The Prometheus text of /metrics, made on the main thread. */
  scrape: () => Promise<string>;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  /** /healthz is 503 after the main loop has not turned this long (default STALLED_MS). */
  stalledMs?: number;
}

export interface FrontDoor {
  port: number;
  /** From now on every request goes to the main server (which answers 503 while closing). */
  markClosing: () => void;
  /** Stops listening, drops connections still in the front door, ends the thread. */
  close: () => Promise<void>;
}

/**
 * The worker's program. It runs from its source text (`eval`), so it imports nothing and reaches
 * Node's modules through process.getBuiltinModule.
 */
function frontDoorWorker(): void {
  const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
  const net = process.getBuiltinModule('node:net');
  const { createHash, timingSafeEqual } = process.getBuiltinModule('node:crypto');
  if (!parentPort) return;
  const port = parentPort;
  const d = workerData as FrontDoorData;
  const heartbeat = new Float64Array(d.heartbeat);
  const sockets = new Set<Socket>();
  let closing = false;
  let last: { text: string; at: number } | null = null;
  let nextId = 0;
  const waiting = new Map<number, (text: string) => void>();
  /** Passed-through connections waiting for the main thread to have their peer address, by upstream local port. */
  const peerWaits = new Map<number, () => void>();
  const post = (m: FromWorker): void => port.postMessage(m);
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  const tokenDigest = d.token !== null && d.token !== '' ? digest(d.token) : null;
  const REQUEST_LINE = /^(GET|HEAD) (\/healthz|\/metrics)(?:\?[^ ]*)? HTTP\/1\.([01])$/;

  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.setNoDelay(true);
    client.setTimeout(d.idleTimeoutMs, () => client.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let answering = false;
    let headTimer: NodeJS.Timeout | null = null;

    const passThrough = (): void => {
      sockets.delete(client);
      client.removeAllListeners('data');
      client.setTimeout(0);
      if (headTimer) clearTimeout(headTimer);
      const up = net.connect({ host: '127.0.0.1', port: d.upstreamPort });
      up.setNoDelay(true);
      client.pause();
      const pending = buf;
      buf = Buffer.alloc(0);
      const pipe = (): void => {
        if (pending.length > 0) up.write(pending);
        client.pipe(up);
        up.pipe(client);
        client.resume();
      };
      // The main thread learns the client's address before the first byte reaches it.
      up.once('connect', () => {
        const local = up.localPort;
        if (local === undefined || client.remoteAddress === undefined) return pipe();
        peerWaits.set(local, pipe);
        post({ type: 'peer', port: local, address: client.remoteAddress });
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
      up.on('close', () => client.destroy());
      client.on('close', () => up.destroy());
    };

    const answer = (status: string, headers: [string, string][], body: string, head: boolean, keepAlive: boolean): void => {
      const bytes = Buffer.from(body);
      const lines = [`HTTP/1.1 ${status}`, ...headers.map(([k, v]) => `${k}: ${v}`), `content-length: ${bytes.length}`, `date: ${new Date().toUTCString()}`, `connection: ${keepAlive ? 'keep-alive' : 'close'}`];
      client.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (!head) client.write(bytes);
      if (!keepAlive) client.end();
    };

    const metricsText = (): Promise<string> =>
      new Promise((resolve) => {
        const id = nextId++;
        const fallback = last;
        const timer = fallback
          ? setTimeout(() => {
              waiting.delete(id);
              const age = (Date.now() - fallback.at) / 1000;
              resolve(`${fallback.text}# HELP weft_metrics_snapshot_age_seconds Age of this /metrics answer: the main thread did not answer in time, so its last scrape is shown.\n# TYPE weft_metrics_snapshot_age_seconds gauge\nweft_metrics_snapshot_age_seconds ${age}\n`);
            }, d.metricsWaitMs)
          : null;
        waiting.set(id, (text) => {
          if (timer) clearTimeout(timer);
          resolve(text);
        });
        post({ type: 'scrape', id });
      });

    /** Answers the complete requests at the front of `buf`; passes the connection on at the first it does not. */
    const next = (): void => {
      while (!answering && !closing) {
        const lineEnd = buf.indexOf('\r\n');
        if (lineEnd < 0) {
          if (buf.length > 64) passThrough();
          return;
        }
        const line = REQUEST_LINE.exec(buf.toString('latin1', 0, lineEnd));
        if (!line) return passThrough();
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) {
          if (buf.length > d.maxHeadBytes) passThrough();
          else headTimer ??= setTimeout(() => client.destroy(), d.headersTimeoutMs);
          return;
        }
        if (headTimer) {
          clearTimeout(headTimer);
          headTimer = null;
        }
        const headers = new Map<string, string>();
        for (const h of buf.toString('latin1', lineEnd + 2, headEnd).split('\r\n')) {
          if (h === '') continue;
          const colon = h.indexOf(':');
          // Folded or malformed header lines are the main server's to refuse.
          if (colon <= 0 || h[0] === ' ' || h[0] === '\t') return passThrough();
          const name = h.slice(0, colon).toLowerCase();
          if (headers.has(name) && name !== 'connection') return passThrough();
          headers.set(name, h.slice(colon + 1).trim());
        }
        const length = headers.get('content-length');
        if ((length !== undefined && length !== '0') || headers.has('transfer-encoding') || headers.has('upgrade') || headers.has('expect')) return passThrough();
        buf = buf.subarray(headEnd + 4);
        const [, method, path, minor] = line;
        const head = method === 'HEAD';
        const connection = (headers.get('connection') ?? '').toLowerCase();
        const keepAlive = minor === '1' ? !connection.includes('close') : connection.includes('keep-alive');
        const json: [string, string] = ['content-type', 'application/json; charset=utf-8'];
        if (path === '/healthz') {
          const stalledFor = Date.now() - heartbeat[0]!;
          if (stalledFor < d.stalledMs) answer('200 OK', [json], JSON.stringify({ status: 'ok', store: d.store }), head, keepAlive);
          else {
            const message = `the server's event loop has not turned for ${Math.round(stalledFor)} ms`;
            answer('503 Service Unavailable', [json, ['retry-after', '1']], JSON.stringify({ status: 'stalled', store: d.store, error: { code: 'TRC_SERVER_STALLED', message } }), head, keepAlive);
          }
          continue;
        }
        const auth = /^Bearer\s+(.+)$/i.exec(headers.get('authorization') ?? '')?.[1]?.trim();
        if (tokenDigest && (auth === undefined || !timingSafeEqual(digest(auth), tokenDigest))) {
          const body = JSON.stringify({ error: { code: 'TRC_AUTH_UNAUTHORIZED', message: 'missing or wrong Bearer token (Authorization: Bearer <token>)' } });
          answer('401 Unauthorized', [json, ['www-authenticate', 'Bearer realm="weft"']], body, head, keepAlive);
          continue;
        }
        answering = true;
        void metricsText().then((text) => {
          answering = false;
          if (client.destroyed) return;
          answer('200 OK', [['content-type', 'text/plain; version=0.0.4; charset=utf-8']], text, head, keepAlive);
          next();
        });
      }
      if (closing && !answering && !client.destroyed && buf.length > 0) passThrough();
    };

    client.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      next();
    });
  });
  server.on('error', (err) => post({ type: 'listen-error', message: err.message }));
  server.listen({ host: d.host, port: d.port }, () => {
    const a = server.address();
    post({ type: 'listening', port: typeof a === 'object' && a !== null ? a.port : d.port });
  });
  port.on('message', (m: ToWorker) => {
    if (m.type === 'metrics') {
      last = { text: m.text, at: Date.now() };
      waiting.get(m.id)?.(m.text);
      waiting.delete(m.id);
    } else if (m.type === 'peer-known') {
      peerWaits.get(m.port)?.();
      peerWaits.delete(m.port);
    } else if (m.type === 'closing') closing = true;
    else {
      closing = true;
      server.close(() => post({ type: 'closed' }));
      for (const s of sockets) s.destroy();
    }
  });
}

/** Starts the front door on host:port; resolves once it listens (rejects with the listen error). */
export async function openFrontDoor(opts: FrontDoorOptions): Promise<FrontDoor> {
  const heartbeat = new SharedArrayBuffer(8);
  const beat = new Float64Array(heartbeat);
  beat[0] = Date.now();
  const timer = setInterval(() => (beat[0] = Date.now()), HEARTBEAT_MS);
  timer.unref();
  const data: FrontDoorData = {
    host: opts.host,
    port: opts.port,
    upstreamPort: opts.upstreamPort,
    token: opts.token,
    store: opts.store,
    heartbeat,
    headersTimeoutMs: opts.headersTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs,
    stalledMs: opts.stalledMs ?? STALLED_MS,
    metricsWaitMs: METRICS_FRESH_WAIT_MS,
    maxHeadBytes: MAX_FRONT_HEAD_BYTES,
  };
  // tsx/esbuild wrap named functions in `__name(...)` (keepNames); the eval'd source has no such helper.
  const worker = new Worker(`const __name = (f) => f;\n(${frontDoorWorker.toString()})();`, { eval: true, workerData: data });
  worker.unref();
  const peers = new Map<number, string>();
  const onConnection = (socket: Socket): void => {
    const key = socket.remotePort;
    if (key === undefined) return;
    // The client the front door accepted (it says so, and waits for the answer, before passing bytes on).
    Object.defineProperty(socket, 'remoteAddress', { configurable: true, get: () => peers.get(key) ?? '127.0.0.1' });
    socket.once('close', () => peers.delete(key));
  };
  opts.upstream.on('connection', onConnection);
  let closed: (() => void) | null = null;
  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'listening':
          resolve(m.port);
          break;
        case 'listen-error':
          reject(new Error(m.message));
          break;
        case 'peer':
          peers.set(m.port, m.address);
          worker.postMessage({ type: 'peer-known', port: m.port } satisfies ToWorker);
          break;
        case 'scrape':
          void opts.scrape().then(
            (text) => worker.postMessage({ type: 'metrics', id: m.id, text } satisfies ToWorker),
            (err: unknown) => worker.postMessage({ type: 'metrics', id: m.id, text: `# scrape failed: ${err instanceof Error ? err.message : String(err)}\n` } satisfies ToWorker),
          );
          break;
        case 'closed':
          closed?.();
          break;
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the query port's thread exited (${code})`)));
  }).catch(async (err: unknown) => {
    clearInterval(timer);
    opts.upstream.off('connection', onConnection);
    await worker.terminate();
    throw err;
  });
  return {
    port,
    markClosing: () => worker.postMessage({ type: 'closing' } satisfies ToWorker),
    close: async () => {
      clearInterval(timer);
      const done = new Promise<void>((r) => (closed = r));
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      await Promise.race([done, new Promise((r) => setTimeout(r, 1000).unref())]);
      opts.upstream.off('connection', onConnection);
      await worker.terminate();
    },
  };
}
