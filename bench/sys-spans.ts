/**
 * @module Synthetic SYS spans shaped like the eBPF agent's: HTTP, MySQL and Redis exchanges
 * between a few processes, each with tcp seqs, syscall trace ids, thread ids and, for HTTP,
 * an X-Request-ID. Deterministic for a given seed, so runs compare.
 */
import { emptySpan } from '../src/model/index.js';
import type { SpanRecord } from '../src/model/index.js';

const PROTOCOLS = [
  { protocol: 'http', requestType: 'GET', resource: '/api/cart/', port: 8080 },
  { protocol: 'http', requestType: 'POST', resource: '/api/orders', port: 8080 },
  { protocol: 'mysql', requestType: 'SELECT', resource: 'SELECT * FROM cart WHERE id = ?', port: 3306 },
  { protocol: 'redis', requestType: 'GET', resource: 'cart:', port: 6379 },
] as const;
const PROCESSES = ['nginx', 'frontend', 'backend', 'mysqld', 'redis-server'];

/** xorshift32: fast, seedable, good enough for synthetic data. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** `count` SYS spans starting at span number `from`, one every `gapNano` of start time. */
export function sysSpans(from: number, count: number, startNano: bigint, gapNano: bigint, seed = 1): SpanRecord[] {
  const r = rng(seed + from);
  const out: SpanRecord[] = [];
  for (let i = from; i < from + count; i++) {
    const p = PROTOCOLS[i % PROTOCOLS.length] as (typeof PROTOCOLS)[number];
    const client = i % 2 === 0;
    const proc = PROCESSES[r() % PROCESSES.length] as string;
    const start = startNano + BigInt(i) * gapNano;
    const seq = (r() % 0xfffffffe) + 1;
    out.push({
      ...emptySpan({ source: 'sys', origin: 'ebpf', observationPoint: client ? 'c-p' : 's-p' }),
      spanId: (0x1000000000000000n + BigInt(i)).toString(16),
      name: `${p.requestType} ${p.resource}`,
      kind: client ? 'client' : 'server',
      service: proc,
      startTimeUnixNano: start,
      endTimeUnixNano: start + BigInt(200_000 + (r() % 5_000_000)),
      protocol: p.protocol,
      requestType: p.requestType,
      requestDomain: p.protocol === 'http' ? 'backend:8080' : '',
      requestResource: p.protocol === 'mysql' ? p.resource : `${p.resource}${r() % 1000}`,
      responseStatus: r() % 50 === 0 ? 'server_error' : 'ok',
      responseCode: p.protocol === 'http' ? (r() % 50 === 0 ? 500 : 200) : p.protocol === 'mysql' ? 0 : null,
      ipVersion: 4,
      clientIp: `10.0.${(r() % 4) + 1}.${(r() % 200) + 1}`,
      serverIp: `10.0.9.${(i % 4) + 1}`,
      clientPort: 32768 + (r() % 28000),
      serverPort: p.port,
      transport: 'tcp',
      reqTcpSeq: seq,
      respTcpSeq: (r() % 0xfffffffe) + 1,
      hostId: `host-${i % 3}`,
      processId: 1000 + (r() % 5000),
      processName: proc,
      threadIdReq: 1000 + (r() % 64),
      threadIdResp: 1000 + (r() % 64),
      xRequestIdReq: p.protocol === 'http' ? `${(r() >>> 0).toString(16)}-${i.toString(16)}` : '',
      syscallTraceIdReq: 1 + i * 2,
      syscallTraceIdResp: client ? 1 + i * 2 : 0,
    });
  }
  return out;
}
