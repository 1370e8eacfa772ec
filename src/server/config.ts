/**
 * @module The server's one configuration: typed shape, defaults, layering and validation.
 *
 * Layers, lowest first: `defaultConfig()` < environment (`WEFT_*`) < command-line flags. This is
 * the only module that reads environment variables, and it reads them only from the `env`
 * object it is handed (the CLI passes `process.env`). `loadConfig()` collects EVERY problem before
 * failing, each naming the option, the rule and the actual value, so a bad start is fixed in one
 * edit, not one edit per restart.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { TracingError } from '../model/index.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Where spans are stored. */
export type StoreSpec =
  | { kind: 'duckdb'; path: string }
  | {
      kind: 'clickhouse';
      url: string;
      /** `--cluster NAME`: local tables plus Distributed tables over this cluster's shards. */
      cluster: string | null;
      /** `--retention`: day partitions older than this many days are dropped; null keeps everything. */
      retentionDays: number | null;
    }
  | { kind: 'memory' };

export type ApmName = 'skywalking' | 'jaeger' | 'tempo' | 'zipkin';
export const APM_NAMES: readonly ApmName[] = ['skywalking', 'jaeger', 'tempo', 'zipkin'];

/** An external APM whose Trace API assembly calls for APP spans (integration 1). */
export interface ApmSource {
  name: ApmName;
  url: string;
}

/** Where and what the OTLP exporter sends (integration 4). */
export interface ExportOtlpConfig {
  url: string;
  protocol: 'http' | 'grpc';
  /** Which spans are exported, in the exporter's filter syntax; `source=sys,net` by default. */
  filter: string;
}

/** Listening ports; 0 picks a free port (tests), the running server reports the real one. */
export type PortsConfig = {
  otlpGrpc: number;
  otlpHttp: number;
  zipkin: number;
  skywalkingGrpc: number;
  skywalkingHttp: number;
  query: number;
};

export interface WeftConfig {
  /** Directory for the embedded store and other state. Default `./weft-data`. */
  dataDir: string;
  /** Storage backend. Default DuckDB at `<dataDir>/weft.duckdb`. */
  store: StoreSpec;
  /**
   * Address every listener binds. Default 127.0.0.1, so a fresh start exposes nothing beyond
   * this machine; pass `--host 0.0.0.0` (ideally with `--token`) to receive from other hosts.
   */
  host: string;
  ports: PortsConfig;
  /** External APMs for the Call API integration, in the order given. */
  apm: ApmSource[];
  /** OTLP export of SYS/NET spans; null when off. */
  exportOtlp: ExportOtlpConfig | null;
  /** Bearer token every ingest and query call must carry; null when auth is off. */
  token: string | null;
  /** Whether `weft up` starts the local agent. `weft server` always sets false. */
  agent: boolean;
  /** NICs the local agent captures on; empty = the agent's own choice. */
  interfaces: string[];
  /** Whether the local agent hooks Node.js servers (through their inspector) to link their outbound calls. */
  nodeHook: boolean;
  logLevel: LogLevel;
  /** Largest request body a receiver accepts (wire and after gunzip); 413 beyond. */
  maxBodyBytes: number;
  /** Spans waiting for a durable write, at most; beyond it ingest answers 429. */
  maxPendingSpans: number;
  /** Spans per store write, at most. */
  maxBatchSpans: number;
  /** Longest an ingest request waits for its durable write before it is refused with 429. */
  maxAckWaitMs: number;
  /**
   * The bound on the server's resident size, bytes: bodies in flight, pending spans and DuckDB's
   * pool each get a share (app.ts), and new bodies are refused (503 + Retry-After) while the
   * resident size is past 85% of it (memory-governor.ts).
   */
  maxMemoryBytes: number;
  /** A request's headers and body must arrive within this (408 beyond); idle connections close after it too. */
  requestTimeoutMs: number;
  /** Time budget of one query; past it the answer holds what was found, with a warning. */
  queryTimeoutMs: number;
}

export const DEFAULT_PORTS: Readonly<PortsConfig> = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  zipkin: 9411,
  skywalkingGrpc: 11800,
  skywalkingHttp: 12800,
  query: 16686,
};

const DEFAULT_DATA_DIR = './weft-data';
const DUCKDB_FILE = 'weft.duckdb';
/** 16 MiB: a large OTLP batch (≈ 20k spans) fits; a runaway client does not. */
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** About 200 MB of span records at worst; beyond that clients are told to retry (429). */
const DEFAULT_MAX_PENDING_SPANS = 200_000;
/** One DuckDB appender transaction; large enough to amortise the WAL fsync. */
const DEFAULT_MAX_BATCH_SPANS = 50_000;
/**
 * 5 s: half the OTel SDKs' 10 s export timeout, so a refusal (429 + Retry-After) reaches the
 * client before it gives up and resends the same batch on top of the queue.
 */
const DEFAULT_MAX_ACK_WAIT_MS = 5_000;
const MAX_PORT = 65_535;
/** 1 GiB, or half the machine's memory when it has less than 2 GiB. */
const DEFAULT_MAX_MEMORY_CAP = 1024 * 1024 * 1024;
/** Below this --max-memory cannot hold the runtime, the store and one body of the largest size. */
const MIN_MAX_MEMORY = 128 * 1024 * 1024;
/** 30 s: a 16 MiB body at a slow 1 MB/s still arrives; an upload that stalls is dropped. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** 10 s: a search at the maximum limit answers with what it found by then, plus a warning. */
const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

function defaultMaxMemoryBytes(): number {
  return Math.min(DEFAULT_MAX_MEMORY_CAP, Math.floor(totalmem() / 2));
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `512m`, `1g`, `1.5GiB`, `1048576` → bytes; null when not a size. */
export function parseByteSize(s: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}
const DEFAULT_EXPORT_FILTER = 'source=sys,net';

export function defaultConfig(): WeftConfig {
  return {
    dataDir: DEFAULT_DATA_DIR,
    store: { kind: 'duckdb', path: join(DEFAULT_DATA_DIR, DUCKDB_FILE) },
    host: '127.0.0.1',
    ports: { ...DEFAULT_PORTS },
    apm: [],
    exportOtlp: null,
    token: null,
    agent: true,
    interfaces: [],
    nodeHook: true,
    logLevel: 'info',
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    maxPendingSpans: DEFAULT_MAX_PENDING_SPANS,
    maxBatchSpans: DEFAULT_MAX_BATCH_SPANS,
    maxAckWaitMs: DEFAULT_MAX_ACK_WAIT_MS,
    maxMemoryBytes: defaultMaxMemoryBytes(),
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
  };
}

/** One option: its flag, its environment variable, and what it means (for --help and README). */
export interface OptionSpec {
  /** Key in the raw flag object (commander's camelCase of the flag). */
  key: RawOptionKey;
  /** Flag with its argument, as commander takes it. */
  flag: string;
  env: string | null;
  description: string;
  /** Default shown in help; the real default lives in defaultConfig(). */
  defaultText: string;
  repeatable?: boolean;
}

export type RawOptionKey =
  | 'data'
  | 'store'
  | 'cluster'
  | 'retention'
  | 'host'
  | 'otlpGrpcPort'
  | 'otlpHttpPort'
  | 'zipkinPort'
  | 'swGrpcPort'
  | 'swHttpPort'
  | 'queryPort'
  | 'apm'
  | 'exportOtlp'
  | 'exportFilter'
  | 'token'
  | 'tokenFile'
  | 'agent'
  | 'interfaces'
  | 'nodeHook'
  | 'logLevel'
  | 'maxBodyBytes'
  | 'maxPendingSpans'
  | 'maxBatchSpans'
  | 'maxMemory'
  | 'requestTimeout'
  | 'queryTimeout';

/** Raw values as they come from flags (commander) before validation. */
export type RawOptions = Partial<Record<RawOptionKey, string | string[] | boolean | undefined>>;

const PORT_OPTIONS: readonly [RawOptionKey, keyof PortsConfig, string, string][] = [
  ['otlpGrpcPort', 'otlpGrpc', '--otlp-grpc-port <port>', 'WEFT_OTLP_GRPC_PORT'],
  ['otlpHttpPort', 'otlpHttp', '--otlp-http-port <port>', 'WEFT_OTLP_HTTP_PORT'],
  ['zipkinPort', 'zipkin', '--zipkin-port <port>', 'WEFT_ZIPKIN_PORT'],
  ['swGrpcPort', 'skywalkingGrpc', '--sw-grpc-port <port>', 'WEFT_SW_GRPC_PORT'],
  ['swHttpPort', 'skywalkingHttp', '--sw-http-port <port>', 'WEFT_SW_HTTP_PORT'],
  ['queryPort', 'query', '--query-port <port>', 'WEFT_QUERY_PORT'],
];

const PORT_WHAT: Record<keyof PortsConfig, string> = {
  otlpGrpc: 'OTLP gRPC receiver',
  otlpHttp: 'OTLP HTTP receiver (/v1/traces)',
  zipkin: 'Zipkin receiver (/api/v2/spans)',
  skywalkingGrpc: 'SkyWalking gRPC receiver',
  skywalkingHttp: 'SkyWalking HTTP receiver (/v3/segments)',
  query: 'query API, UI, /healthz and /metrics',
};

/** Every server option, in help order. The CLI builds its flags from this table. */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { key: 'data', flag: '--data <dir>', env: 'WEFT_DATA', description: 'data directory (embedded store)', defaultText: DEFAULT_DATA_DIR },
  {
    key: 'store',
    flag: '--store <spec>',
    env: 'WEFT_STORE',
    description: 'storage: duckdb:PATH | clickhouse:URL | memory',
    defaultText: `duckdb:<data>/${DUCKDB_FILE}`,
  },
  { key: 'cluster', flag: '--cluster <name>', env: 'WEFT_CLUSTER', description: 'with --store clickhouse:URL: create local tables and Distributed tables over this ClickHouse cluster', defaultText: 'none' },
  { key: 'retention', flag: '--retention <days>', env: 'WEFT_RETENTION', description: 'with --store clickhouse:URL: drop day partitions older than this, e.g. 7d or 2w', defaultText: 'keep all' },
  { key: 'host', flag: '--host <addr>', env: 'WEFT_HOST', description: 'address every listener binds', defaultText: '127.0.0.1' },
  ...PORT_OPTIONS.map(([key, port, flag, env]) => ({
    key,
    flag,
    env,
    description: `port of the ${PORT_WHAT[port]} (0 = any free port)`,
    defaultText: String(DEFAULT_PORTS[port]),
  })),
  {
    key: 'apm',
    flag: '--apm <name=url>',
    env: 'WEFT_APM',
    description: `external APM Trace API to merge APP spans from; NAME is ${APM_NAMES.join('|')} (repeatable; env: comma-separated)`,
    defaultText: 'none',
    repeatable: true,
  },
  { key: 'exportOtlp', flag: '--export-otlp <url>', env: 'WEFT_EXPORT_OTLP', description: 'export SYS/NET spans to this OTLP endpoint (http:// or grpc://)', defaultText: 'off' },
  { key: 'exportFilter', flag: '--export-filter <sources>', env: 'WEFT_EXPORT_FILTER', description: 'which spans to export, e.g. source=sys,net;protocol=http (see README)', defaultText: DEFAULT_EXPORT_FILTER },
  {
    key: 'token',
    flag: '--token <secret>',
    env: 'WEFT_TOKEN',
    description: 'require "Authorization: Bearer SECRET" on every ingest and query call; as a flag it is visible to every local user in the process list, so prefer WEFT_TOKEN or --token-file',
    defaultText: 'off',
  },
  { key: 'tokenFile', flag: '--token-file <path>', env: 'WEFT_TOKEN_FILE', description: 'read the token from this file (first line; keep it mode 0600)', defaultText: 'off' },
  { key: 'agent', flag: '--no-agent', env: 'WEFT_NO_AGENT', description: 'do not start the local agent (weft up)', defaultText: 'agent on' },
  { key: 'interfaces', flag: '--interfaces <nics>', env: 'WEFT_INTERFACES', description: 'comma-separated interfaces the local agent captures frames on, for NET spans', defaultText: 'none' },
  {
    key: 'nodeHook',
    flag: '--no-node-hook',
    env: 'WEFT_NODE_HOOK',
    description: 'do not hook Node.js servers through their inspector to link outbound calls to inbound requests (WEFT_NODE_HOOK=0 does the same)',
    defaultText: 'on',
  },
  { key: 'logLevel', flag: '--log-level <level>', env: 'WEFT_LOG_LEVEL', description: `log level: ${LOG_LEVELS.join('|')}`, defaultText: 'info' },
  { key: 'maxBodyBytes', flag: '--max-body-bytes <n>', env: 'WEFT_MAX_BODY_BYTES', description: 'largest ingest request body (413 beyond)', defaultText: String(DEFAULT_MAX_BODY_BYTES) },
  {
    key: 'maxPendingSpans',
    flag: '--max-pending-spans <n>',
    env: 'WEFT_MAX_PENDING_SPANS',
    description: 'spans waiting for a durable write before ingest answers 429',
    defaultText: String(DEFAULT_MAX_PENDING_SPANS),
  },
  { key: 'maxBatchSpans', flag: '--max-batch-spans <n>', env: 'WEFT_MAX_BATCH_SPANS', description: 'spans per store write', defaultText: String(DEFAULT_MAX_BATCH_SPANS) },
  {
    key: 'maxMemory',
    flag: '--max-memory <size>',
    env: 'WEFT_MAX_MEMORY',
    description: 'bound on the server\'s resident memory (e.g. 512m, 2g): bodies in flight, pending spans and the store get shares; past 85% of it, ingest answers 503 + Retry-After',
    defaultText: '1g (or half the RAM if less)',
  },
  { key: 'requestTimeout', flag: '--request-timeout <ms>', env: 'WEFT_REQUEST_TIMEOUT', description: 'a request (headers and body) must arrive within this; idle connections close after it', defaultText: String(DEFAULT_REQUEST_TIMEOUT_MS) },
  { key: 'queryTimeout', flag: '--query-timeout <ms>', env: 'WEFT_QUERY_TIMEOUT', description: 'time budget of one query; past it the answer holds what was found, with a warning', defaultText: String(DEFAULT_QUERY_TIMEOUT_MS) },
];

export type ConfigResult = { ok: true; config: WeftConfig } | { ok: false; problems: string[] };

/** The flag name as the user types it, for messages (`--otlp-http-port`). */
function flagName(spec: OptionSpec): string {
  return spec.flag.split(' ')[0] ?? spec.flag;
}

function specOf(key: RawOptionKey): OptionSpec {
  const spec = SERVER_OPTIONS.find((s) => s.key === key);
  if (!spec) throw new Error(`no option spec for ${key}`);
  return spec;
}

/** Where a raw value came from, for the message: `--data` or `WEFT_DATA`. */
interface Sourced {
  value: string;
  from: string;
}

function quote(v: string): string {
  return `'${v.length > 200 ? `${v.slice(0, 200)}…` : v}'`;
}

/**
 * Collects the raw value of one option: a flag wins over the environment. Repeatable options
 * give every flag value (or the comma-split environment value).
 */
function rawValues(spec: OptionSpec, flags: RawOptions, env: Readonly<Record<string, string | undefined>>): Sourced[] {
  const flag = flags[spec.key];
  const name = flagName(spec);
  if (Array.isArray(flag) && flag.length > 0) return flag.map((value) => ({ value, from: name }));
  if (typeof flag === 'string') return [{ value: flag, from: name }];
  const fromEnv = spec.env ? env[spec.env] : undefined;
  if (fromEnv !== undefined && fromEnv !== '' && spec.env) {
    const parts = spec.repeatable ? fromEnv.split(',').map((s) => s.trim()).filter((s) => s !== '') : [fromEnv];
    return parts.map((value) => ({ value, from: spec.env ?? name }));
  }
  return [];
}

function parseIntStrict(s: string): number | null {
  return /^\s*\d+\s*$/.test(s) ? Number(s.trim()) : null;
}

function parseStore(raw: Sourced, dataDir: string, problems: string[]): StoreSpec | null {
  const v = raw.value.trim();
  if (v === 'memory') return { kind: 'memory' };
  if (v === 'duckdb') return { kind: 'duckdb', path: join(dataDir, DUCKDB_FILE) };
  if (v.startsWith('duckdb:') && v.length > 'duckdb:'.length) return { kind: 'duckdb', path: v.slice('duckdb:'.length) };
  if (v.startsWith('clickhouse:')) {
    const url = v.slice('clickhouse:'.length);
    if (isHttpUrl(url)) return { kind: 'clickhouse', url, cluster: null, retentionDays: null };
    problems.push(`${raw.from} clickhouse:URL needs an http:// or https:// URL (actual: ${quote(raw.value)})`);
    return null;
  }
  problems.push(`${raw.from} must be duckdb:PATH, clickhouse:URL or memory (actual: ${quote(raw.value)})`);
  return null;
}

/** `--cluster` and `--retention`, which only a ClickHouse store takes. */
function parseClickHouseOptions(cluster: Sourced | undefined, retention: Sourced | undefined, store: StoreSpec, problems: string[]): void {
  const ch = store.kind === 'clickhouse' ? store : null;
  for (const raw of [cluster, retention]) {
    if (raw !== undefined && ch === null) problems.push(`${raw.from} needs --store clickhouse:URL (actual store: ${store.kind})`);
  }
  if (cluster !== undefined && ch !== null) {
    if (/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(cluster.value)) ch.cluster = cluster.value;
    else problems.push(`${cluster.from} must be a ClickHouse cluster name (letters, digits, _) (actual: ${quote(cluster.value)})`);
  }
  if (retention !== undefined && ch !== null) {
    // Partitions are days, so retention is whole days (or weeks).
    const m = /^\s*(\d{1,5})\s*([dw])\s*$/i.exec(retention.value);
    const days = m ? Number(m[1]) * ((m[2] ?? 'd').toLowerCase() === 'w' ? 7 : 1) : 0;
    if (days >= 1) ch.retentionDays = days;
    else problems.push(`${retention.from} must be a whole number of days or weeks, at least 1d (e.g. 7d, 2w) (actual: ${quote(retention.value)})`);
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function parseApm(raw: Sourced, problems: string[]): ApmSource | null {
  const eq = raw.value.indexOf('=');
  const name = eq > 0 ? raw.value.slice(0, eq).trim().toLowerCase() : '';
  const url = eq > 0 ? raw.value.slice(eq + 1).trim() : '';
  if (!(APM_NAMES as readonly string[]).includes(name)) {
    problems.push(`${raw.from} must be NAME=URL with NAME one of ${APM_NAMES.join(', ')} (actual: ${quote(raw.value)})`);
    return null;
  }
  if (!isHttpUrl(url)) {
    problems.push(`${raw.from} ${name}= needs an http:// or https:// URL (actual: ${quote(raw.value)})`);
    return null;
  }
  return { name: name as ApmName, url };
}

function parseExport(raw: Sourced, problems: string[]): { url: string; protocol: 'http' | 'grpc' } | null {
  try {
    const u = new URL(raw.value);
    if (u.hostname !== '' && (u.protocol === 'http:' || u.protocol === 'https:')) return { url: raw.value, protocol: 'http' };
    if (u.hostname !== '' && u.protocol === 'grpc:') return { url: raw.value, protocol: 'grpc' };
  } catch {
    // falls through to the one message below
  }
  problems.push(`${raw.from} must be an http://, https:// or grpc:// URL with a host (actual: ${quote(raw.value)})`);
  return null;
}


/**
 * Builds the configuration from defaults, environment and flags, validating everything.
 * `env` is the environment to read (`process.env` from the CLI; a literal in tests).
 */
export function loadConfig(flags: RawOptions, env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const problems: string[] = [];
  const config = defaultConfig();
  const one = (key: RawOptionKey): Sourced | undefined => {
    const all = rawValues(specOf(key), flags, env);
    return all[all.length - 1];
  };

  const data = one('data');
  if (data) {
    if (data.value.trim() === '') problems.push(`${data.from} must be a directory path (actual: ${quote(data.value)})`);
    else config.dataDir = data.value;
  }
  config.store = { kind: 'duckdb', path: join(config.dataDir, DUCKDB_FILE) };
  const store = one('store');
  if (store) config.store = parseStore(store, config.dataDir, problems) ?? config.store;
  parseClickHouseOptions(one('cluster'), one('retention'), config.store, problems);

  const host = one('host');
  if (host) {
    if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host.value)) problems.push(`${host.from} must be an IP address or host name (actual: ${quote(host.value)})`);
    else config.host = host.value;
  }

  for (const [key, port] of PORT_OPTIONS) {
    const raw = one(key);
    if (!raw) continue;
    const n = parseIntStrict(raw.value);
    if (n === null || n > MAX_PORT) problems.push(`${raw.from} must be an integer 0–${MAX_PORT} (actual: ${quote(raw.value)})`);
    else config.ports[port] = n;
  }

  for (const raw of rawValues(specOf('apm'), flags, env)) {
    const apm = parseApm(raw, problems);
    if (apm) config.apm.push(apm);
  }

  const exp = one('exportOtlp');
  const filterRaw = one('exportFilter');
  let filter = DEFAULT_EXPORT_FILTER;
  if (filterRaw) {
    // The filter grammar belongs to the exporter; the CLI parses it before starting (exit 2).
    if (filterRaw.value.trim() === '') problems.push(`${filterRaw.from} must not be empty (example: ${DEFAULT_EXPORT_FILTER}) (actual: '')`);
    else filter = filterRaw.value.trim();
  }
  if (exp) {
    const parsed = parseExport(exp, problems);
    if (parsed) config.exportOtlp = { ...parsed, filter };
  }

  const tokenFile = one('tokenFile');
  const token = one('token') ?? (tokenFile ? readTokenFile(tokenFile, problems) : undefined);
  if (tokenFile && one('token')) problems.push(`${tokenFile.from} and ${one('token')?.from ?? '--token'} must not both be given (actual: both)`);
  if (token) {
    // Header values cannot carry control characters or spaces inside a Bearer token (RFC 6750 §2.1).
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token.value)) problems.push(`${token.from} must be a Bearer token (letters, digits, -._~+/ and trailing =) (actual: <${token.value.length} characters, hidden>)`);
    else config.token = token.value;
  }

  // commander turns --no-agent into agent:false; WEFT_NO_AGENT=1 does the same.
  if (flags.agent === false) config.agent = false;
  else {
    const noAgent = env.WEFT_NO_AGENT;
    if (noAgent !== undefined && noAgent !== '') {
      if (['1', 'true', 'yes'].includes(noAgent.toLowerCase())) config.agent = false;
      else if (!['0', 'false', 'no'].includes(noAgent.toLowerCase())) problems.push(`WEFT_NO_AGENT must be 1|true|yes|0|false|no (actual: ${quote(noAgent)})`);
    }
  }

  const nodeHook = nodeHookSetting(flags.nodeHook, env, problems);
  if (nodeHook !== null) config.nodeHook = nodeHook;

  const nics = one('interfaces');
  if (nics) config.interfaces = nics.value.split(',').map((s) => s.trim()).filter((s) => s !== '');

  const level = one('logLevel');
  if (level) {
    if (!(LOG_LEVELS as readonly string[]).includes(level.value)) problems.push(`${level.from} must be one of ${LOG_LEVELS.join(', ')} (actual: ${quote(level.value)})`);
    else config.logLevel = level.value as LogLevel;
  }

  for (const key of ['maxBodyBytes', 'maxPendingSpans', 'maxBatchSpans'] as const) {
    const raw = one(key);
    if (!raw) continue;
    const n = parseIntStrict(raw.value);
    if (n === null || n < 1 || !Number.isSafeInteger(n)) problems.push(`${raw.from} must be a positive integer (actual: ${quote(raw.value)})`);
    else config[key] = n;
  }

  const mem = one('maxMemory');
  if (mem) {
    const n = parseByteSize(mem.value);
    if (n === null || n < MIN_MAX_MEMORY) problems.push(`${mem.from} must be a size of at least 128m, e.g. 512m or 2g (actual: ${quote(mem.value)})`);
    else config.maxMemoryBytes = n;
  }
  for (const [key, field] of [
    ['requestTimeout', 'requestTimeoutMs'],
    ['queryTimeout', 'queryTimeoutMs'],
  ] as const) {
    const raw = one(key);
    if (!raw) continue;
    const n = parseIntStrict(raw.value);
    if (n === null || n < 100 || n > 3_600_000) problems.push(`${raw.from} must be milliseconds from 100 to 3600000 (actual: ${quote(raw.value)})`);
    else config[field] = n;
  }

  // Cross-field rules only when every field parsed: a bad port must not also be reported as a
  // clash between the default it fell back to and another port.
  if (problems.length === 0) problems.push(...validateConfig(config));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

/**
 * Rules across fields of an already typed config (what flags alone cannot check). Returns every
 * problem; empty means valid. loadConfig() calls it; a caller building a config by hand should too.
 */
export function validateConfig(config: WeftConfig): string[] {
  const problems: string[] = [];
  const byPort = new Map<number, string[]>();
  for (const [key, port, flag] of PORT_OPTIONS) {
    void key;
    const n = config.ports[port];
    if (!Number.isInteger(n) || n < 0 || n > MAX_PORT) {
      problems.push(`${flag.split(' ')[0]} must be an integer 0–${MAX_PORT} (actual: '${String(n)}')`);
      continue;
    }
    if (n !== 0) byPort.set(n, [...(byPort.get(n) ?? []), flag.split(' ')[0] ?? flag]);
  }
  for (const [n, flags] of byPort) {
    if (flags.length > 1) problems.push(`${flags.join(' and ')} must differ (actual: both ${n})`);
  }
  if (config.maxBatchSpans > config.maxPendingSpans) {
    problems.push(`--max-batch-spans must not exceed --max-pending-spans (actual: ${config.maxBatchSpans} > ${config.maxPendingSpans})`);
  }
  return problems;
}

/**
 * The token from a file: its first line, trimmed. A file keeps the secret out of the process
 * list (/proc/PID/cmdline is readable by every local user) and out of the environment of children.
 */
function readTokenFile(raw: Sourced, problems: string[]): Sourced | undefined {
  let text: string;
  try {
    text = readFileSync(raw.value, 'utf8');
  } catch (err) {
    problems.push(`${raw.from} must be a readable file (actual: ${quote(raw.value)}: ${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return undefined;
  }
  const first = (text.split('\n')[0] ?? '').trim();
  if (first === '') {
    problems.push(`${raw.from} must hold a token on its first line (actual: ${quote(raw.value)} is empty)`);
    return undefined;
  }
  return { value: first, from: raw.from };
}

/** The config or a TracingError listing every problem (the CLI prints it and exits 2). */
export function resolveConfig(flags: RawOptions, env: Readonly<Record<string, string | undefined>>): WeftConfig {
  const result = loadConfig(flags, env);
  if (!result.ok) {
    throw new TracingError('TRC_CONFIG_INVALID', `invalid configuration:\n  ${result.problems.join('\n  ')}`, { httpStatus: 400 });
  }
  return result.config;
}

/** Absolute form of the paths in a config (so a later chdir cannot move the data). */
export function absolutePaths(config: WeftConfig, cwd: string): WeftConfig {
  return {
    ...config,
    dataDir: resolve(cwd, config.dataDir),
    store: config.store.kind === 'duckdb' ? { kind: 'duckdb', path: resolve(cwd, config.store.path) } : config.store,
  };
}

/** What a client command (`weft trace`, `weft agent`) needs to reach a server. */
export interface ClientConfig {
  serverUrl: string;
  token: string | null;
}

export const DEFAULT_SERVER_URL = `http://127.0.0.1:${DEFAULT_PORTS.query}`;

/**
 * `--server URL` (or WEFT_SERVER) and `--token` (or WEFT_TOKEN) for client commands, validated
 * like the server's options.
 */
export function loadClientConfig(
  flags: { server?: string | undefined; token?: string | undefined; tokenFile?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; config: ClientConfig } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const server = flags.server ?? env.WEFT_SERVER ?? DEFAULT_SERVER_URL;
  const from = flags.server !== undefined ? '--server' : 'WEFT_SERVER';
  if (!isHttpUrl(server)) problems.push(`${from} must be an http:// or https:// URL (actual: ${quote(server)})`);
  const tokenFile = flags.tokenFile ?? env.WEFT_TOKEN_FILE;
  const fromFile = tokenFile !== undefined && tokenFile !== '' ? readTokenFile({ value: tokenFile, from: flags.tokenFile !== undefined ? '--token-file' : 'WEFT_TOKEN_FILE' }, problems) : undefined;
  const token = flags.token ?? fromFile?.value ?? env.WEFT_TOKEN ?? null;
  if (token !== null && !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) problems.push(`--token must be a Bearer token (letters, digits, -._~+/ and trailing =) (actual: <${token.length} characters, hidden>)`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: { serverUrl: server.replace(/\/+$/, ''), token } };
}

/** --no-node-hook (commander's nodeHook:false) or WEFT_NODE_HOOK=0|1; null when neither says. */
function nodeHookSetting(flag: unknown, env: Readonly<Record<string, string | undefined>>, problems: string[]): boolean | null {
  if (flag === false) return false;
  const v = env.WEFT_NODE_HOOK;
  if (v === undefined || v === '') return null;
  if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
  if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
  problems.push(`WEFT_NODE_HOOK must be 1|true|yes|on|0|false|no|off (actual: ${quote(v)})`);
  return null;
}

export const DEFAULT_AGENT_SERVER_URL = `http://127.0.0.1:${DEFAULT_PORTS.otlpHttp}`;

/** What `weft agent` needs: the server's OTLP/HTTP endpoint, token, NICs and log level. */
export interface AgentClientConfig extends ClientConfig {
  interfaces: string[];
  nodeHook: boolean;
  logLevel: LogLevel;
}

export function loadAgentClientConfig(
  flags: { server?: string | undefined; token?: string | undefined; tokenFile?: string | undefined; interfaces?: string | undefined; logLevel?: string | undefined; nodeHook?: boolean | undefined },
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; config: AgentClientConfig } | { ok: false; problems: string[] } {
  const base = loadClientConfig({ server: flags.server ?? env.WEFT_SERVER ?? DEFAULT_AGENT_SERVER_URL, token: flags.token, tokenFile: flags.tokenFile }, env);
  const problems = base.ok ? [] : [...base.problems];
  const level = flags.logLevel ?? env.WEFT_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`--log-level must be one of ${LOG_LEVELS.join(', ')} (actual: ${quote(level)})`);
  const nics = flags.interfaces ?? env.WEFT_INTERFACES ?? '';
  const nodeHook = nodeHookSetting(flags.nodeHook, env, problems);
  if (!base.ok || problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: { ...base.config, interfaces: nics.split(',').map((s) => s.trim()).filter((s) => s !== ''), nodeHook: nodeHook ?? true, logLevel: level as LogLevel },
  };
}
