/**
 * @module The JavaScript the agent evaluates inside a running Node.js process (through its
 * inspector) to report which inbound request each outbound socket write serves.
 *
 * It is a string, not a function's `toString()`: test coverage or a bundler would rewrite a
 * function's body, and this text runs in someone else's process with nothing of ours loaded.
 *
 * What it does in the target, in order of the request's life:
 * - `net.Server#emit('connection')` and `('request')` run the listeners inside an
 *   AsyncLocalStorage store naming the inbound socket (and, for HTTP, the request's ordinal on
 *   that connection); the request's own `emit` (body `data`/`end`) re-enters the same store, and a
 *   raw server socket's `data` events run in the connection's store.
 * - Client sockets are connected inside a "none" store, so their own I/O callbacks (a queued
 *   command flushed when a reply arrives, ioredis's offline queue on `ready`) say "no request"
 *   instead of inheriting whichever request happened to open the pooled connection.
 * - An `http.ClientRequest` keeps the store it was created in (`Agent#addRequest` or its first
 *   `onSocket`), and its bytes are written under that store even when a keep-alive agent flushes
 *   them later from another request's callback.
 * - `net.Socket#write`/`end` on a client TCP socket report `W sock offset length ctx`: the
 *   stream offset of the first byte (`bytesWritten` before the call, which counts bytes still
 *   queued or corked), so the report names the bytes exactly however late the kernel sends them.
 * - `net.Socket#_writeGeneric` (the point where Node hands bytes to libuv) reports
 *   `F sock offset length t0 t1 sync`: when `sync` is 1 the bytes went to the kernel in exactly
 *   one syscall between t0 and t1 (libuv's queue was empty before and after), which lets the agent
 *   pair one observed kernel write (tcp seq) with one stream offset, and so learn the connection's
 *   seq-to-offset constant.
 * Reports are batched (at most every 10 ms) and written as text lines to the agent's unix socket
 * (AF_UNIX: no TCP/UDP port, and not captured by Weft's eBPF programs). When the channel fails the
 * hook removes itself. Times are `process.hrtime.bigint()`, CLOCK_MONOTONIC like eBPF's ktime.
 */

/** Bumped when the report lines change; the hello line carries it. */
export const HOOK_PROTOCOL_VERSION = 1;

/** Global symbol under which the hook keeps its uninstaller: a later injection finds it (live: refused; dead: replaced). */
export const HOOK_GLOBAL_KEY = 'weft.node-runtime-links';

const HOOK_FUNCTION = String.raw`function weftNodeHook(socketPath, token, protocolVersion, globalKey) {
  'use strict';
  const load = typeof require === 'function' ? require
    : (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule : null);
  if (!load) return 'unsupported: no require in this context';
  const net = load('net');
  const http = load('http');
  const { AsyncLocalStorage } = load('async_hooks');
  const KEY = Symbol.for(globalKey);
  const previous = globalThis[KEY];
  // First agent wins: a second agent on the host must not take a live hook from the first.
  if (previous && typeof previous.live === 'function' && previous.live()) return 'busy: hooked by another Weft agent';
  if (previous && typeof previous.uninstall === 'function') previous.uninstall('replaced');
  const SocketProto = net.Socket.prototype;
  const ServerProto = net.Server.prototype;
  const MessageProto = http.OutgoingMessage && http.OutgoingMessage.prototype;
  const ClientProto = http.ClientRequest && http.ClientRequest.prototype;
  const AgentProto = http.Agent && http.Agent.prototype;
  if (typeof SocketProto._writeGeneric !== 'function' || !MessageProto || !ClientProto || !AgentProto ||
      typeof MessageProto._writeRaw !== 'function' || typeof MessageProto._flushOutput !== 'function' ||
      typeof MessageProto._send !== 'function' || typeof ClientProto.onSocket !== 'function') {
    return 'unsupported: this Node.js has no ' + '_writeGeneric/_writeRaw/_flushOutput/onSocket';
  }
  const orig = {
    serverEmit: ServerProto.emit, write: SocketProto.write, end: SocketProto.end,
    connect: SocketProto.connect, writeGeneric: SocketProto._writeGeneric,
    send: MessageProto._send, writeRaw: MessageProto._writeRaw, flushOutput: MessageProto._flushOutput,
    onSocket: ClientProto.onSocket, addRequest: AgentProto.addRequest,
  };
  const hrtime = process.hrtime.bigint;
  const als = new AsyncLocalStorage();
  const NONE = Object.freeze({ none: true });
  const kSock = Symbol('weft.sock');
  const kCtx = Symbol('weft.ctx');
  const kConn = Symbol('weft.conn');
  const kCurrent = Symbol('weft.current');
  const kFlushes = Symbol('weft.flushes');
  // The agent needs one sync window paired with a kernel write to learn a connection's seq
  // offset; later windows only re-check it. So a socket's first windows are all reported, then
  // one in WINDOW_SAMPLE.
  const WINDOWS_IN_FULL = 16;
  const WINDOW_SAMPLE = 64;
  const MAX_QUEUED_BYTES = 4 << 20;
  const HEARTBEAT_MS = 100;
  // Reports go out at most every FLUSH_MS: one socket write per batch costs the target and the
  // agent far more than a line does, and the agent waits for reportedUntil anyway.
  const FLUSH_MS = 10;
  let active = true;
  let nextSock = 0;
  let nextCtx = 0;
  let depth = 0;
  let owner = undefined;
  let lines = [];
  let flushScheduled = false;
  let heartbeat = null;
  let dropped = 0;

  const channel = net.connect(socketPath);
  channel.unref();
  channel.setNoDelay && channel.setNoDelay(true);
  channel.on('error', () => uninstall('channel error'));
  channel.on('close', () => uninstall('channel closed'));
  channel.write('H ' + token + ' ' + process.pid + ' ' + hrtime() + ' ' + protocolVersion + ' ' + process.version + '\n');

  function flush() {
    flushScheduled = false;
    if (!active) return;
    const now = hrtime();
    let text = lines.length > 0 ? lines.join('\n') + '\n' : '';
    lines = [];
    if (dropped > 0) { text += 'D ' + dropped + '\n'; dropped = 0; }
    text += 'U ' + now + '\n';
    channel.write(text);
    if (heartbeat === null) {
      heartbeat = setTimeout(() => { heartbeat = null; if (active) channel.write('U ' + hrtime() + '\n'); }, HEARTBEAT_MS);
      heartbeat.unref();
    }
  }
  function push(line) {
    if (channel.writableLength > MAX_QUEUED_BYTES) { dropped++; return; }
    lines.push(line);
    if (!flushScheduled) { flushScheduled = true; setTimeout(flush, FLUSH_MS).unref(); }
  }
  function plainIp(ip) {
    return typeof ip === 'string' && ip.startsWith('::ffff:') && ip.indexOf('.') > 0 ? ip.slice(7) : ip;
  }
  function tupleOf(s) {
    const la = plainIp(s.localAddress), ra = plainIp(s.remoteAddress);
    if (!la || !ra || !s.localPort || !s.remotePort) return null;
    return la + ' ' + s.localPort + ' ' + ra + ' ' + s.remotePort;
  }
  // An inbound context is announced once, when an outbound write first names it.
  function ctxId(ctx) {
    if (ctx === undefined || ctx === NONE || !active) return 0;
    if (ctx.id === 0) {
      const tuple = tupleOf(ctx.socket);
      if (tuple === null) { ctx.id = -1; return 0; }
      ctx.id = ++nextCtx;
      push('C ' + ctx.id + ' ' + tuple + ' ' + ctx.ordinal + ' ' + ctx.t);
    }
    return ctx.id > 0 ? ctx.id : 0;
  }
  // A client TCP socket gets an id; server-side, TLS, pipe and not-yet-connected-handle sockets do not.
  function sockId(s) {
    const known = s[kSock];
    if (known !== undefined) return known;
    const h = s._handle;
    if (!h) return -1;
    let id = -1;
    if (!s.server && !s._server && !s.encrypted && h.constructor && h.constructor.name === 'TCP' &&
        typeof h.writeQueueSize === 'number') id = ++nextSock;
    s[kSock] = id;
    return id;
  }
  function announce(s, id) {
    if (s[kConn] === true) return;
    const tuple = tupleOf(s);
    if (tuple === null) return;
    s[kConn] = true;
    push('S ' + id + ' ' + tuple);
    s.once('close', () => { if (active) push('X ' + id); });
  }
  function currentCtx() { return owner !== undefined ? owner : als.getStore(); }
  // Bookkeeping never breaks the application's call: a failure in it costs only the report.
  function recordedWrite(fn, self, args) {
    if (!active || depth > 0) return fn.apply(self, args);
    let id = -1, before, ctx;
    try {
      id = sockId(self);
      if (id >= 0) { before = self.bytesWritten; ctx = currentCtx(); }
    } catch (_) { id = -1; }
    if (id < 0) return fn.apply(self, args);
    depth++;
    let result;
    try { result = fn.apply(self, args); } finally { depth--; }
    try {
      const after = self.bytesWritten;
      if (typeof before === 'number' && typeof after === 'number' && after > before) {
        push('W ' + id + ' ' + before + ' ' + (after - before) + ' ' + ctxId(ctx));
      }
    } catch (_) { /* the report is lost, the write is not */ }
    return result;
  }
  SocketProto.write = function write() { return recordedWrite(orig.write, this, arguments); };
  SocketProto.end = function end() { return recordedWrite(orig.end, this, arguments); };
  SocketProto._writeGeneric = function _writeGeneric() {
    if (!active || this.connecting) return orig.writeGeneric.apply(this, arguments);
    let id = -1;
    try { id = sockId(this); } catch (_) { id = -1; }
    if (id < 0) return orig.writeGeneric.apply(this, arguments);
    const n = (this[kFlushes] || 0) + 1;
    this[kFlushes] = n;
    if (n > WINDOWS_IN_FULL && n % WINDOW_SAMPLE !== 0) return orig.writeGeneric.apply(this, arguments);
    const h = this._handle;
    const before = this._bytesDispatched;
    const queued = h ? h.writeQueueSize : -1;
    const t0 = hrtime();
    const result = orig.writeGeneric.apply(this, arguments);
    const t1 = hrtime();
    try {
      const after = this._bytesDispatched;
      if (typeof before === 'number' && typeof after === 'number' && after > before) {
        announce(this, id);
        const sync = queued === 0 && this._handle === h && h.writeQueueSize === 0 ? 1 : 0;
        push('F ' + id + ' ' + before + ' ' + (after - before) + ' ' + t0 + ' ' + t1 + ' ' + sync);
      }
    } catch (_) { /* the report is lost, the write is not */ }
    return result;
  };
  SocketProto.connect = function connect() {
    if (!active || this.server) return orig.connect.apply(this, arguments);
    const self = this, args = arguments;
    return als.run(NONE, () => orig.connect.apply(self, args));
  };
  // deferred: the call may run from another request's callback (a queued message flushed), so a
  // message we did not see created gets no context rather than the caller's.
  function withOwner(fn, self, args, deferred) {
    if (!active) return fn.apply(self, args);
    if (self[kCtx] === undefined) { const c = deferred ? undefined : als.getStore(); self[kCtx] = c === undefined ? NONE : c; }
    const saved = owner;
    owner = self[kCtx];
    try { return fn.apply(self, args); } finally { owner = saved; }
  }
  MessageProto._send = function _send() { return withOwner(orig.send, this, arguments, false); };
  MessageProto._writeRaw = function _writeRaw() { return withOwner(orig.writeRaw, this, arguments, false); };
  MessageProto._flushOutput = function _flushOutput() { return withOwner(orig.flushOutput, this, arguments, true); };
  AgentProto.addRequest = function addRequest(req) {
    if (active && req && req[kCtx] === undefined) { const c = als.getStore(); req[kCtx] = c === undefined ? NONE : c; }
    return orig.addRequest.apply(this, arguments);
  };
  // The response parser is created under the store current in onSocket: make that the request's own.
  ClientProto.onSocket = function onSocket() {
    if (!active) return orig.onSocket.apply(this, arguments);
    // Without an agent, onSocket runs in the request's constructor; with one, addRequest already
    // took the context unless the request predates the hook (then it may be a queued one: none).
    if (this[kCtx] === undefined) { const c = this.agent ? undefined : als.getStore(); this[kCtx] = c === undefined ? NONE : c; }
    const self = this, args = arguments;
    return als.run(this[kCtx], () => orig.onSocket.apply(self, args));
  };
  function inboundCtx(socket, ordinal) { return { id: 0, socket, ordinal, t: hrtime() }; }
  ServerProto.emit = function emit(event, arg) {
    if (!active || (event !== 'connection' && event !== 'request')) return orig.serverEmit.apply(this, arguments);
    const self = this, args = arguments;
    if (event === 'connection' && arg && typeof arg.emit === 'function') {
      const conn = inboundCtx(arg, 0);
      arg[kCurrent] = { n: 0 };
      const socketEmit = arg.emit;
      // A raw server's data listeners run in the handle's context, not the connection listener's.
      arg.emit = function (ev) {
        if (!active || (ev !== 'data' && ev !== 'end')) return socketEmit.apply(this, arguments);
        const a = arguments;
        return als.run(conn, () => socketEmit.apply(this, a));
      };
      return als.run(conn, () => orig.serverEmit.apply(self, args));
    }
    if (event === 'request' && arg && arg.socket) {
      const socket = arg.socket;
      const state = socket[kCurrent] || (socket[kCurrent] = { n: 0 });
      const ctx = inboundCtx(socket, ++state.n);
      const reqEmit = arg.emit;
      arg.emit = function () {
        if (!active) return reqEmit.apply(this, arguments);
        const a = arguments;
        return als.run(ctx, () => reqEmit.apply(this, a));
      };
      return als.run(ctx, () => orig.serverEmit.apply(self, args));
    }
    return orig.serverEmit.apply(this, arguments);
  };
  function uninstall(reason) {
    if (!active) return;
    active = false;
    SocketProto.write = orig.write; SocketProto.end = orig.end; SocketProto.connect = orig.connect;
    SocketProto._writeGeneric = orig.writeGeneric; ServerProto.emit = orig.serverEmit;
    MessageProto._send = orig.send; MessageProto._writeRaw = orig.writeRaw; MessageProto._flushOutput = orig.flushOutput;
    ClientProto.onSocket = orig.onSocket; AgentProto.addRequest = orig.addRequest;
    if (heartbeat !== null) clearTimeout(heartbeat);
    lines = [];
    als.disable();
    if (reason === 'replaced' && !channel.destroyed) channel.end();
    else channel.destroy();
    if (globalThis[KEY] && globalThis[KEY].uninstall === uninstall) delete globalThis[KEY];
  }
  globalThis[KEY] = { uninstall, live: () => active };
  return 'installed';
}`;

/** The expression to evaluate in the target: installs the hook and returns 'installed' or 'unsupported: …'. */
export function hookExpression(socketPath: string, token: string): string {
  return `(${HOOK_FUNCTION})(${JSON.stringify(socketPath)}, ${JSON.stringify(token)}, ${HOOK_PROTOCOL_VERSION}, ${JSON.stringify(HOOK_GLOBAL_KEY)})`;
}

/** The expression that removes an installed hook (e.g. when the agent stops). */
export function unhookExpression(): string {
  return `(() => { const h = globalThis[Symbol.for(${JSON.stringify(HOOK_GLOBAL_KEY)})]; if (h) h.uninstall('agent'); return h ? 'removed' : 'none'; })()`;
}
