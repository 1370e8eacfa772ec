/**
 * @module Starts the eBPF agent: eBPF source → sessions (every registered L7 parser) → spans,
 * delivered either to an in-process ingest sink (`weft up`) or shipped as OTLP to a server
 * (`weft agent --server URL`).
 */
import { hostname } from 'node:os';
import type { EbpfEvent } from './ebpf/decode-events.js';
import type { AgentMetricsSample, SpanRecord } from '../model/index.js';
import { startAgentLoop } from './agent-loop.js';
import { createEbpfSource, type EbpfSource, type EbpfSourceOptions } from './ebpf/ebpf-source.js';
import { startRuntimeLinks, type RuntimeLinksControl } from './runtime/runtime-links.js';
import { PROTOCOL_PARSERS } from './protocols/registry.js';
import { emptyStreamStats, type StreamStats } from './protocols/exchange-stream.js';
import type { L7Protocol } from './sessions/l7-port.js';
import { l7ProtocolOf } from './sessions/protocol-adapter.js';
import { combineSessionTables, createNetSessions } from './capture/net-sessions.js';
import { parseInterfacePatterns } from './capture/links/interface-patterns.js';
import { createLinkWatcher } from './capture/links/link-watcher.js';
import { createNodeNamespaces, type NodeNamespaces } from './capture/links/node-namespaces.js';
import { createSysNamespaceFilter, type SysNamespaceFilter } from './capture/sys-namespace-filter.js';
import { createSessionTable, DEFAULT_SESSION_OPTIONS } from './sessions/session-table.js';
import { startMetricsReporter } from './shipping/metrics-reporter.js';
import { createSinkQueue } from './shipping/sink-queue.js';
import { spanIdGenerator } from './spans/span-ids.js';
import type { MetricsReporter } from './shipping/metrics-reporter.js';
import { createSpanShipper, DEFAULT_SHIPPER_OPTIONS } from './shipping/span-shipper.js';

/** Where spans go when the agent runs inside the server process. Same contract as IngestSink. */
export interface SpanSink {
  submit(spans: SpanRecord[]): Promise<void>;
}

/** The logger surface the agent uses (pino's). */
export interface AgentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface AgentStartOptions {
  /** In-process: spans go straight into the server's ingest pipeline. */
  sink?: SpanSink;
  /** Remote: the server's OTLP/HTTP base URL (port 4318 by default). */
  serverUrl?: string;
  token?: string;
  /**
   * Interfaces to capture frames on (tc), for NET spans: names or patterns (`veth*,br*,eth0`),
   * kept current as interfaces appear and go; [] for none.
   */
  interfaces: string[];
  /**
   * Network namespaces whose interfaces are captured (names under /run/netns, or paths such as
   * /proc/PID/ns/net); default [] = the agent's own namespace.
   */
  netns?: string[];
  /** Capture system calls (SYS spans); false for an agent that only captures frames (default true). */
  syscalls?: boolean;
  /**
   * Whose system calls: 'all' (default) every process the kernel runs; 'node' only processes in
   * the node's network namespaces (the ones in `netns`, or the agent's own, and the pods behind
   * their container veths), for nodes that share a kernel with others (capture/sys-namespace-filter.ts).
   */
  sysNamespaces?: 'all' | 'node';
  /** How often the namespaces are read for new or gone interfaces (default 1000 ms). */
  linkScanIntervalMs?: number;
  logger: AgentLogger;
  /** Agent id written to spans; default the host name. */
  hostId?: string;
  ebpf?: EbpfSourceOptions;
  /**
   * Hook Node.js servers through their inspector for runtime links. Default false here, so an
   * embedded agent (tests, benches) touches no process unless asked; `weft up` and `weft agent`
   * pass their config's value, which is on unless `--no-node-hook` / WEFT_NODE_HOOK=0.
   */
  nodeHook?: boolean;
  /** The runtime links' unix socket (default /run/weft/node-links-<pid>.sock). */
  nodeHookSocket?: string;
}

/** The agent's metrics: the same shape whether scraped in-process or reported to a server. */
export type AgentMetricSample = AgentMetricsSample;

export interface RunningAgent {
  close(): Promise<void>;
  metrics(): AgentMetricSample[];
  /** Which inbound request a hooked Node.js process's outbound message serves (runtime/runtime-links.ts). */
  readonly runtimeLinks: RuntimeLinksControl;
}

const SWEEP_INTERVAL_MS = 50;
/** How long closing the agent waits for spans the server has not accepted yet. */
const SINK_FLUSH_ON_CLOSE_MS = 5_000;

/**
 * Runtime links for the agent; a failure to start them (e.g. no writable /run/weft) costs only the
 * links, never the agent.
 */
async function startAgentRuntimeLinks(o: AgentStartOptions, source: EbpfSource): Promise<RuntimeLinksControl> {
  const enabled = o.nodeHook === true && o.syscalls !== false;
  try {
    return await startRuntimeLinks({ enabled, logger: o.logger, clock: source.clock, ...(o.nodeHookSocket ? { socketPath: o.nodeHookSocket } : {}) });
  } catch (err) {
    o.logger.warn({ component: 'agent.runtime-links', err: (err as Error).message }, 'Node.js runtime links not started; outbound calls of Node.js servers stay unlinked');
    return startRuntimeLinks({ enabled: false, logger: o.logger, clock: source.clock });
  }
}

/**
 * The source as the agent loop sees it: other nodes' processes left out (when asked), then each
 * batch shown to the runtime links, so they never hook a process of another node.
 */
function observedBy(source: EbpfSource, links: RuntimeLinksControl, filter: SysNamespaceFilter | null): AsyncIterable<EbpfEvent[]> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const all of source) {
        const batch = filter ? filter.keep(all) : all;
        links.observe(batch);
        yield batch;
      }
    },
  };
}


/**
 * Per protocol and reason: frames that did not parse, bytes dropped, responses that could not be
 * paired, frames read with a caveat and the connections that had them (summed over the SYS and
 * NET session tables). Every protocol and reason is listed, at 0
 * too, so a dashboard sees the series before the first error.
 */
function parseSamples(protocols: readonly L7Protocol[]): AgentMetricSample[] {
  const byName = new Map<string, StreamStats>();
  for (const p of protocols) {
    const s = p.parseStats?.();
    if (!s) continue;
    const sum = byName.get(p.name) ?? emptyStreamStats();
    sum.invalid += s.invalid;
    for (const k of Object.keys(s.droppedBytesBy) as (keyof StreamStats['droppedBytesBy'])[]) sum.droppedBytesBy[k] += s.droppedBytesBy[k];
    for (const k of Object.keys(s.stitchErrorsBy) as (keyof StreamStats['stitchErrorsBy'])[]) sum.stitchErrorsBy[k] += s.stitchErrorsBy[k];
    for (const [k, v] of Object.entries(s.markedFrames)) sum.markedFrames[k] = (sum.markedFrames[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.markedStreams)) sum.markedStreams[k] = (sum.markedStreams[k] ?? 0) + v;
    byName.set(p.name, sum);
  }
  const out: AgentMetricSample[] = [];
  for (const [protocol, s] of byName) {
    out.push({ name: 'weft_agent_parse_errors_total', help: 'L7 frames that did not parse (the rest of their message is dropped)', type: 'counter', labels: { protocol, reason: 'invalid' }, value: s.invalid });
    for (const [reason, value] of Object.entries(s.droppedBytesBy)) {
      out.push({ name: 'weft_agent_parse_dropped_bytes_total', help: 'Captured L7 bytes no frame was parsed from', type: 'counter', labels: { protocol, reason }, value });
    }
    for (const [reason, value] of Object.entries(s.stitchErrorsBy)) {
      out.push({ name: 'weft_agent_stitch_errors_total', help: 'L7 frames that could not be paired into an exchange', type: 'counter', labels: { protocol, reason }, value });
    }
    for (const [reason, value] of Object.entries(s.markedFrames)) {
      out.push({ name: 'weft_agent_parse_marked_frames_total', help: 'L7 frames read with a caveat their spans also mark (mysql compressed: read through the compressed protocol)', type: 'counter', labels: { protocol, reason }, value });
    }
    for (const [reason, value] of Object.entries(s.markedStreams)) {
      out.push({ name: 'weft_agent_parse_marked_streams_total', help: 'Connections (counted per side captured) with at least one L7 frame marked for the reason', type: 'counter', labels: { protocol, reason }, value });
    }
  }
  return out;
}

export async function startAgent(o: AgentStartOptions): Promise<RunningAgent> {
  if (!o.sink && !o.serverUrl) throw new Error('startAgent needs a sink (in-process) or a serverUrl');
  const hostId = o.hostId ?? hostname();
  // Patterns are checked before anything is loaded: a typo is a configuration error.
  const matcher = parseInterfacePatterns(o.interfaces);
  const source = createEbpfSource({ ...o.ebpf, denyPids: [process.pid, ...(o.ebpf?.denyPids ?? [])], ...(o.syscalls === false ? { syscalls: false } : {}) });
  const newSpanId = spanIdGenerator();
  // Set once the runtime links are up (below); the session table asks them per client span.
  let runtimeLinks: RuntimeLinksControl | null = null;
  // Kept: their parse and stitch counters go to /metrics.
  const sysProtocols = PROTOCOL_PARSERS.map(l7ProtocolOf);
  const netProtocols = PROTOCOL_PARSERS.map(l7ProtocolOf);
  const sysSessions = createSessionTable({
    ...DEFAULT_SESSION_OPTIONS,
    hostId,
    protocols: sysProtocols,
    source: 'sys',
    origin: 'ebpf',
    newSpanId,
    runtimeInbound: (pid, outbound, tcpSeq, startUnixNano) => (runtimeLinks?.hooked(pid) ? runtimeLinks.inboundFor(pid, outbound, tcpSeq, startUnixNano) : undefined),
    runtimePending: (pid, startUnixNano) => runtimeLinks !== null && runtimeLinks.hooked(pid) && runtimeLinks.reportedUntil(pid) < startUnixNano,
  });
  // NET spans from the interfaces asked for: frames from tc, through a session table of their own.
  const links =
    matcher.patterns.length > 0
      ? createLinkWatcher({ matcher, netns: o.netns ?? [], capture: source, logger: o.logger, ...(o.linkScanIntervalMs ? { intervalMs: o.linkScanIntervalMs } : {}) })
      : null;
  const nodeNamespaces: NodeNamespaces | null =
    o.sysNamespaces === 'node' && o.syscalls !== false ? createNodeNamespaces({ netns: o.netns ?? [], logger: o.logger, ...(o.linkScanIntervalMs ? { intervalMs: o.linkScanIntervalMs } : {}) }) : null;
  try {
    await Promise.all([links?.rescan(), nodeNamespaces?.refresh()]);
  } catch (err) {
    links?.close();
    nodeNamespaces?.close();
    source.close();
    throw err;
  }
  const sysFilter = nodeNamespaces ? createSysNamespaceFilter(nodeNamespaces) : null;
  const netSessions = links
    ? createNetSessions({
        table: createSessionTable({ ...DEFAULT_SESSION_OPTIONS, hostId, protocols: netProtocols, source: 'net', origin: 'packet', newSpanId }),
        linkOf: (ifindex) => links.byIfindex(ifindex),
        ...(o.ebpf?.ports ? { ports: o.ebpf.ports } : {}),
      })
    : null;
  const sessions = netSessions ? combineSessionTables(sysSessions, netSessions) : sysSessions;
  const shipper = o.serverUrl
    ? createSpanShipper({ ...DEFAULT_SHIPPER_OPTIONS, serverUrl: o.serverUrl, ...(o.token ? { token: o.token } : {}) })
    : null;
  // In-process (`weft up`): refusals (overload, a store away) are retried, not dropped.
  const sinkQueue = o.sink ? createSinkQueue(o.sink) : null;
  const emit = (spans: SpanRecord[]): void => {
    if (shipper) shipper.add(spans);
    else sinkQueue?.add(spans);
  };
  const runtimeControl = await startAgentRuntimeLinks(o, source);
  runtimeLinks = runtimeControl;
  const loop = startAgentLoop({
    source: observedBy(source, runtimeControl, sysFilter),
    sessions,
    emit,
    sweepIntervalMs: SWEEP_INTERVAL_MS,
    // Events carry wall-clock times (the source converts kernel ktime), so sweep by wall clock.
    nowUnixNano: () => BigInt(Date.now()) * 1_000_000n,
  });
  const kernelReads = source.stats().coreReads ? 'CO-RE helper reads (kernel before 6.2)' : 'direct loads';
  o.logger.info({ component: 'agent', protocols: PROTOCOL_PARSERS.map((p) => p.name), kernelReads, syscalls: o.syscalls !== false, interfaces: matcher.patterns, capturing: links?.captured().map((l) => l.displayName) ?? [] }, 'eBPF agent attached');
  let reporter: MetricsReporter | null = null;
  const running: RunningAgent = {
    runtimeLinks: runtimeControl,
    async close() {
      links?.close();
      nodeNamespaces?.close();
      source.close();
      await loop.stop();
      await runtimeControl.close();
      // What the loop's final flush handed over still goes in, unless the server is gone.
      if (sinkQueue) {
        await sinkQueue.flush(SINK_FLUSH_ON_CLOSE_MS);
        sinkQueue.close();
      }
      // The last report after the loop stopped, so the server sees the final totals.
      if (reporter) await reporter.stop();
      if (shipper) await shipper.close();
    },
    metrics() {
      const s = loop.stats();
      let n: Record<string, unknown> = {};
      try {
        n = source.stats() as unknown as Record<string, unknown>;
      } catch {
        // Closed: the kernel counters are gone with the programs.
      }
      const ship = shipper?.stats();
      const samples: AgentMetricSample[] = [
        { name: 'weft_agent_events_total', help: 'Capture records processed by the agent', type: 'counter', value: s.events },
        { name: 'weft_agent_spans_total', help: 'SYS spans produced by the agent', type: 'counter', value: s.spans },
        { name: 'weft_agent_connections', help: 'Connections tracked', type: 'gauge', value: s.connections },
        { name: 'weft_agent_evicted_connections_total', help: 'Connections evicted by the LRU bound', type: 'counter', value: s.evictedConnections },
        { name: 'weft_agent_reused_sockets_total', help: 'Connections ended because the kernel reused their socket for another one (its close was not seen)', type: 'counter', value: s.reusedSockets },
        { name: 'weft_agent_undetected_messages_total', help: 'Messages of no known protocol', type: 'counter', value: s.undetectedMessages },
        { name: 'weft_agent_timeouts_total', help: 'Requests closed without a response', type: 'counter', value: s.timeouts },
        { name: 'weft_agent_dropped_spans_total', help: 'Spans dropped by the agent', type: 'counter', labels: { reason: 'sink_rejected' }, value: sinkQueue?.stats().dropped ?? 0 },
      ];
      if (netSessions) {
        const net = netSessions.netStats();
        samples.push({ name: 'weft_agent_frames_total', help: 'Frames captured on the agent\'s interfaces', type: 'counter', value: net.frames });
        samples.push({ name: 'weft_agent_skipped_frames_total', help: 'Frames that were not TCP/UDP over IP, or outside the port filter', type: 'counter', value: net.skippedFrames });
        samples.push({ name: 'weft_agent_bare_ack_frames_total', help: 'Bare ACKs that reached user space (the tc program drops them)', type: 'counter', value: net.bareAckFrames });
        samples.push({ name: 'weft_agent_decapsulated_frames_total', help: 'Frames read from inside a VXLAN, Geneve or GRE tunnel', type: 'counter', value: net.decapsulatedFrames });
        samples.push({ name: 'weft_agent_captured_interfaces', help: 'Interfaces the agent captures frames on now', type: 'gauge', value: links?.captured().length ?? 0 });
        samples.push({ name: 'weft_agent_frame_gap_bytes_total', help: 'TCP payload bytes missing between captured frames', type: 'counter', value: net.gapBytes });
      }
      if (sysFilter) {
        const f = sysFilter.stats();
        samples.push({ name: 'weft_agent_sys_events_outside_node_total', help: 'System-call events of processes outside the node\'s network namespaces (--sys-namespaces node), left out', type: 'counter', value: f.droppedEvents });
        samples.push({ name: 'weft_agent_node_namespaces', help: 'Network namespaces counted as the node\'s (--sys-namespaces node)', type: 'gauge', value: nodeNamespaces?.inodes().size ?? 0 });
      }
      samples.push(...parseSamples([...sysProtocols, ...netProtocols]));
      for (const [key, value] of Object.entries(n)) {
        if (typeof value === 'number' || typeof value === 'bigint') {
          samples.push({ name: 'weft_agent_kernel_' + key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), help: `eBPF ${key}`, type: 'counter', value: Number(value) });
        }
      }
      if (sinkQueue) {
        const q = sinkQueue.stats();
        samples.push({ name: 'weft_agent_queued_spans', help: 'Spans waiting for the server to accept them', type: 'gauge', value: q.queued });
        samples.push({ name: 'weft_agent_sink_retries_total', help: 'Times the server refused a batch for now (overload) and it was retried', type: 'counter', value: q.retries });
      }
      if (ship) {
        samples.push({ name: 'weft_agent_shipped_spans_total', help: 'Spans shipped to the server', type: 'counter', value: ship.sent });
        samples.push({ name: 'weft_agent_dropped_spans_total', help: 'Spans dropped by the agent', type: 'counter', labels: { reason: 'queue_full' }, value: ship.dropped });
        samples.push({ name: 'weft_agent_dropped_spans_total', help: 'Spans dropped by the agent', type: 'counter', labels: { reason: 'server_rejected' }, value: ship.rejectedByServer });
        samples.push({ name: 'weft_agent_ship_failures_total', help: 'Failed attempts to ship a batch (retried)', type: 'counter', value: ship.failedAttempts });
        samples.push({ name: 'weft_agent_queued_spans', help: 'Spans waiting to be shipped', type: 'gauge', value: ship.queued });
      }
      return samples;
    },
  };
  if (o.serverUrl) {
    reporter = startMetricsReporter({ serverUrl: o.serverUrl, agent: hostId, collect: () => running.metrics(), ...(o.token ? { token: o.token } : {}) });
  }
  return running;
}
