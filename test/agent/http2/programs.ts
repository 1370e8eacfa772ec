/**
 * @module Real HTTP/2 programs for the eBPF tests, each in its own process (the agent never
 * traces itself): a @grpc/grpc-js server and client, a Node http2 server and client, and
 * Debian's nghttpd/nghttpx. Servers print their port; clients print "done" when every call ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));

/** `traceparent` for call i of a run: a trace id of its own, so a trace holds exactly one call. */
export function traceparentFor(run: number, i: number): string {
  return `00-${run.toString(16).padStart(8, '0')}${(0x7e57 + i).toString(16).padStart(24, '0')}-${(0x42 + i).toString(16).padStart(16, '0')}-01`;
}
export const traceIdOf = (tp: string): string => tp.split('-')[1]!;

const GRPC_SERVICE = `
const grpc = require('@grpc/grpc-js');
const id = (b) => b;
const m = (path, responseStream) => ({ path, requestStream: false, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const service = { Say: m('/weft.e2e.Greeter/Say', false), Count: m('/weft.e2e.Greeter/Count', true), Big: m('/weft.e2e.Greeter/Big', false) };
`;

/** Bytes of a Big call's request and answer (both past the 64 KiB initial flow-control window). */
export const BIG_REQUEST_BYTES = 80 * 1024;
export const BIG_ANSWER_BYTES = 100 * 1024;

export const GRPC_SERVER = `${GRPC_SERVICE}
const server = new grpc.Server();
server.addService(service, {
  Say: (call, cb) => call.request.toString().startsWith('fail') ? cb({ code: grpc.status.NOT_FOUND, details: 'nothing here' }) : cb(null, Buffer.from('hi ' + call.request)),
  Count: (call) => { for (let i = 0; i < Number(call.request.toString()); i++) call.write(Buffer.from('item ' + i)); call.end(); },
  Big: (call, cb) => cb(null, Buffer.alloc(${BIG_ANSWER_BYTES}, 'b')),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => { if (e) throw e; console.log(port); });
`;

/**
 * argv: port run unary streaming concurrent. Unary call i fails (NOT_FOUND) when i % 5 === 4.
 * concurrent=1: all calls at once; 0: one after another (still one connection); 2: two waves
 * (unary i, then unary 200+i and streaming 300+i), printing "wave1" between them; 3: unary i and
 * `streaming` Big calls 500+j (80 KiB up, 100 KiB down), all at once.
 */
export const GRPC_CLIENT = `${GRPC_SERVICE}
const [port, run, unary, streaming, concurrent] = process.argv.slice(1).map(Number);
const tp = ${traceparentFor.toString().replace('function traceparentFor', 'function')};
const Client = grpc.makeGenericClientConstructor(service, 'Greeter');
const client = new Client('127.0.0.1:' + port, grpc.credentials.createInsecure());
const md = (i) => { const x = new grpc.Metadata(); x.set('traceparent', tp(run, i)); return x; };
const say = (i) => new Promise((r) => client.Say(Buffer.from(i % 5 === 4 ? 'fail' : 'n' + i), md(i), () => r()));
const count = (i) => new Promise((r) => { const c = client.Count(Buffer.from('3'), md(i)); c.on('data', () => {}); c.on('end', r); c.on('error', r); });
const big = (i) => new Promise((r, j) => client.Big(Buffer.alloc(${BIG_REQUEST_BYTES}, 'a'), md(i), (e, b) => (e ? j(e) : b.length >= ${BIG_ANSWER_BYTES} ? r() : j(new Error('short answer')))));
(async () => {
  await say(1000);
  if (concurrent === 3) {
    await Promise.all([...Array.from({ length: unary }, (_, i) => say(i)), ...Array.from({ length: streaming }, (_, i) => big(500 + i))]);
  } else if (concurrent === 2) {
    // Two waves 1.5 s apart on one connection: a capture started in between joins mid-connection.
    await Promise.all(Array.from({ length: unary }, (_, i) => say(i)));
    console.log('wave1');
    await new Promise((r) => setTimeout(r, 1500));
    await Promise.all([...Array.from({ length: unary }, (_, i) => say(200 + i)), ...Array.from({ length: streaming }, (_, i) => count(300 + i))]);
  } else if (concurrent) {
    await Promise.all([...Array.from({ length: unary }, (_, i) => say(i)), ...Array.from({ length: streaming }, (_, i) => count(100 + i))]);
  } else {
    for (let i = 0; i < unary; i++) await say(i);
    for (let i = 0; i < streaming; i++) await count(100 + i);
  }
  client.close();
  console.log('done');
})();
`;

export const H2_SERVER = `
const http2 = require('http2');
const s = http2.createServer();
s.on('stream', (stream, h) => {
  const p = h[':path'];
  stream.respond({ ':status': p.startsWith('/missing') ? 404 : 200 });
  if (p.startsWith('/big/')) stream.end(Buffer.alloc(${BIG_ANSWER_BYTES}, 'b'));
  else stream.end('ok ' + p);
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

/** The path H2_CLIENT requests for request i: /missing/i when i % 4 === 3; /big/i (a 100 KiB answer) when i % 4 === 1 and big=1. */
export function h2PathFor(i: number, big: boolean): string {
  return (i % 4 === 3 ? '/missing/' : big && i % 4 === 1 ? '/big/' : '/items/') + i;
}

/** argv: port run n concurrent [big]. Request i goes to h2PathFor(i, big === 1). */
export const H2_CLIENT = `
const http2 = require('http2');
const [port, run, n, concurrent, big] = process.argv.slice(1).map(Number);
const tp = ${traceparentFor.toString().replace('function traceparentFor', 'function')};
const path = ${h2PathFor.toString().replace('function h2PathFor', 'function')};
const session = http2.connect('http://127.0.0.1:' + port);
const one = (i) => new Promise((resolve, reject) => {
  const req = session.request({ ':path': path(i, big === 1), traceparent: tp(run, i) });
  req.on('data', () => {}); req.on('end', resolve); req.on('error', reject);
});
(async () => {
  if (concurrent) await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  else for (let i = 0; i < n; i++) await one(i);
  session.close();
  console.log('done');
})();
`;

export interface Spawned {
  child: ChildProcess;
  /** First stdout line. */
  firstLine: Promise<string>;
  /** Resolves when the process exits. */
  exited: Promise<number | null>;
}

export function spawnNode(code: string, args: (string | number)[] = []): Spawned {
  return spawnProgram(process.execPath, ['-e', code, ...args.map(String)]);
}

export function spawnProgram(cmd: string, args: string[]): Spawned {
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code} before printing: ${err.slice(0, 500)}`)));
  });
  // Servers that print nothing (nghttpd) must not leave an unhandled rejection behind.
  firstLine.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, firstLine, exited };
}
