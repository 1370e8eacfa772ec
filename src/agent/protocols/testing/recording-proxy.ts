/**
 * @module Test helper: a TCP proxy on 127.0.0.1 that forwards one real client's connections to a
 * real server and records what each side sent, as the `Flow`s the capture reader gives (bytes
 * in arrival order, consecutive chunks of one direction joined into a message, tcp seq = a
 * per-direction byte offset from an arbitrary start). No root and no tcpdump, so parser tests
 * can run real HTTP/2 and gRPC libraries in-process.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Flow } from './pcap-flows.js';

export interface RecordingProxy {
  port: number;
  /** The flows so far, one per accepted connection. */
  flows(): Flow[];
  close(): Promise<void>;
}

/** Seq bases far from 0 and from each other, so wrap-around and mixing would show. */
const SEQ_BASE_CLIENT = 0xfffff000;
const SEQ_BASE_SERVER = 0x10000000;

export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const flows: Flow[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const flow: Flow = { transport: 'tcp', ipVersion: 4, clientIp: '127.0.0.1', clientPort: client.remotePort ?? 0, serverIp: '127.0.0.1', serverPort: targetPort, messages: [], gaps: 0 };
    flows.push(flow);
    const seq = [SEQ_BASE_SERVER, SEQ_BASE_CLIENT];
    const record = (fromClient: boolean, chunk: Buffer): void => {
      const now = process.hrtime.bigint() + 1_700_000_000_000_000_000n;
      const last = flow.messages[flow.messages.length - 1];
      const i = fromClient ? 1 : 0;
      if (last && last.fromClient === fromClient) {
        last.bytes = Buffer.concat([last.bytes, chunk]);
        last.meta.endUnixNano = now;
      } else {
        flow.messages.push({ fromClient, bytes: Buffer.from(chunk), meta: { startUnixNano: now, endUnixNano: now, tcpSeq: seq[i]!, syscallTraceId: 0, tid: 0 } });
      }
      seq[i] = (seq[i]! + chunk.length) >>> 0;
    };
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (c: Buffer) => {
      record(true, c);
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      record(false, c);
      client.write(c);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    flows: () => flows,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
