/**
 * @module `weft import-pcap FILE`: a packet capture (pcap or pcapng, from tcpdump, dumpcap or
 * tshark) → NET spans, sent to a running Weft server as OTLP (default), or written straight
 * into a store that no server has open (`--data`).
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { CaptureImportResult, NetObservationPoint } from '../agent/capture/pcap/import-capture.js';
import { TracingError } from '../model/index.js';
import type { SpanRecord } from '../model/index.js';
import { loadAgentClientConfig } from '../server/config.js';
import { usageError } from './cli-errors.js';
import type { CommandContext } from './command-context.js';

/** How long to wait for the server to take the last spans before giving up. */
const SEND_DEADLINE_MS = 60_000;
/** Spans per store write with --data. */
const STORE_BATCH = 5_000;

interface ImportFlags {
  server?: string;
  token?: string;
  data?: string;
  observationPoint: NetObservationPoint;
  interface?: string;
  hostId?: string;
  dryRun?: boolean;
}

export function importPcapCommand(ctx: CommandContext): Command {
  return new Command('import-pcap')
    .description('parse a pcap/pcapng file into NET spans (HTTP/1, HTTP/2 and gRPC, DNS, MySQL, PostgreSQL, Redis, Memcached) and send them to Weft')
    .argument('<file>', 'capture file (pcap or pcapng)')
    .option('--server <url>', "the server's OTLP/HTTP endpoint (default: http://127.0.0.1:4318; env WEFT_SERVER)")
    .option('--token <secret>', 'Bearer token the server requires (env WEFT_TOKEN)')
    .option('--data <dir>', 'write into the store in this data directory instead (no server may have it open)')
    .addOption(
      new Option('--observation-point <point>', "where the capture was taken: c (client's NIC), s (server's NIC), c-nd/s-nd (node), c-gw/s-gw (gateway), local, rest")
        .choices(['c', 's', 'c-nd', 's-nd', 'c-gw', 's-gw', 'local', 'rest'])
        .default('c'),
    )
    .option('--interface <name>', 'interface name for the spans when the file records none (classic pcap)')
    .option('--host-id <id>', 'host id for the spans: where the capture was taken (default: this host name)')
    .option('--dry-run', 'parse the capture and print what it holds (spans by protocol), sending and storing nothing')
    .addHelpText(
      'after',
      `
NET spans share tcp seqs with the SYS spans of the same messages, so a trace shows them between
the client's c-p and the server's s-p. Requests without a response in the file end as timeouts.

Examples:
  $ weft import-pcap capture.pcap
  $ weft import-pcap capture.pcap --dry-run
  $ tcpdump -i eth0 -w /tmp/web.pcap port 80 & ...; weft import-pcap /tmp/web.pcap --interface eth0
  $ weft import-pcap server-side.pcapng --observation-point s --server http://weft.internal:4318`,
    )
    .action(async (file: string, flags: ImportFlags) => {
      if (flags.data !== undefined && flags.server !== undefined) throw usageError('TRC_CONFIG_INVALID', 'give --server or --data, not both');
      if (flags.dryRun && (flags.data !== undefined || flags.server !== undefined)) throw usageError('TRC_CONFIG_INVALID', '--dry-run sends and stores nothing: give it without --server and --data');
      let bytes: Buffer;
      try {
        if (!statSync(file).isFile()) throw new Error('not a regular file');
        bytes = readFileSync(file);
      } catch (err) {
        throw usageError('TRC_CONFIG_INVALID', `cannot read the capture file ${JSON.stringify(file)}: ${err instanceof Error ? err.message : String(err)}`);
      }
      // The parsers load when a capture is imported, not for every command.
      const { captureWarnings, importCapture } = await import('../agent/capture/pcap/import-capture.js');
      const common = {
        observationPoint: flags.observationPoint,
        hostId: flags.hostId ?? hostname(),
        ...(flags.interface !== undefined ? { interfaceName: flags.interface } : {}),
        onProgress: (packets: number) => void ctx.stderr.write(`weft: ${packets.toLocaleString('en-US')} packets read\n`),
      };
      let result: CaptureImportResult;
      let where: string;
      if (flags.dryRun) {
        const byProtocol = new Map<string, number>();
        result = await importCapture(bytes, {
          ...common,
          onSpans: (spans) => {
            for (const s of spans) byProtocol.set(s.protocol, (byProtocol.get(s.protocol) ?? 0) + 1);
          },
        });
        for (const w of captureWarnings(result)) ctx.stderr.write(`weft: warning: ${w}\n`);
        const counts = [...byProtocol].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([p, n]) => `${p} ${n}`);
        ctx.stdout.write(
          `weft: would import ${result.spans} NET spans${counts.length > 0 ? ` (${counts.join(', ')})` : ''} from ${result.packets} packets (${result.flows} flows); nothing sent (--dry-run)` +
            (result.gapBytes > 0 ? `; ${result.gapBytes} bytes missing from the capture` : '') +
            (result.undetectedMessages > 0 ? `; ${result.undetectedMessages} messages of no known protocol` : '') +
            '\n',
        );
        return;
      }
      if (flags.data !== undefined) {
        where = join(flags.data, 'weft.duckdb');
        // The store and the shipper load when used: DuckDB's client alone takes a third of a second.
        const { openDuckDbStore } = await import('../server/store/index.js');
        const store = await openDuckDbStore({ path: where });
        try {
          let pending: SpanRecord[] = [];
          const flush = async (): Promise<void> => {
            if (pending.length === 0) return;
            const batch = pending;
            pending = [];
            await store.write(batch);
          };
          result = await importCapture(bytes, {
            ...common,
            onSpans: async (spans) => {
              pending.push(...spans);
              if (pending.length >= STORE_BATCH) await flush();
            },
          });
          await flush();
        } finally {
          await store.close();
        }
      } else {
        const client = loadAgentClientConfig({ server: flags.server, token: flags.token }, ctx.env);
        if (!client.ok) throw usageError('TRC_CONFIG_INVALID', `invalid configuration:\n  ${client.problems.join('\n  ')}`);
        where = client.config.serverUrl;
        const { createSpanShipper, DEFAULT_SHIPPER_OPTIONS } = await import('../agent/shipping/span-shipper.js');
        const shipper = createSpanShipper({ ...DEFAULT_SHIPPER_OPTIONS, serverUrl: where, ...(client.config.token ? { token: client.config.token } : {}) });
        result = await importCapture(bytes, { ...common, onSpans: (spans) => shipper.add(spans) });
        const sent = await Promise.race([shipper.flush().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), SEND_DEADLINE_MS).unref())]);
        const s = shipper.stats();
        await shipper.close();
        if (!sent) throw new TracingError('TRC_IMPORT_SEND', `the server at ${where} did not take the spans within ${SEND_DEADLINE_MS / 1000} s (${s.sent} of ${result.spans} sent); is it running?`);
        if (s.rejectedByServer > 0) throw new TracingError('TRC_IMPORT_SEND', `the server at ${where} rejected ${s.rejectedByServer} of ${result.spans} spans (see its log; a --token mismatch answers 401)`);
      }
      for (const w of captureWarnings(result)) ctx.stderr.write(`weft: warning: ${w}\n`);
      ctx.stdout.write(
        `weft: imported ${result.spans} NET spans from ${result.packets} packets (${result.flows} flows) into ${where}` +
          (result.skippedPackets > 0 ? `; ${result.skippedPackets} packets were not TCP/UDP over IP` : '') +
          (result.gapBytes > 0 ? `; ${result.gapBytes} bytes missing from the capture` : '') +
          (result.undetectedMessages > 0 ? `; ${result.undetectedMessages} messages of no known protocol` : '') +
          '\n',
      );
    });
}
