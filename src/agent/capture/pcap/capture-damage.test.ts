/**
 * @module Damaged and unusual capture files (issue 8, A7), all made from real captures: a bad
 * record in the middle and trailing garbage keep the packets before them with a warning; a file
 * cut mid-packet warns; the "modified pcap" format (editcap -F modpcap) reads like the original;
 * an unsupported link type (editcap -T user0) names itself; only a file with nothing readable
 * fails.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../model/index.js';
import { TracingError } from '../../../model/index.js';
import { cliFromSource, runToEnd } from '../../../../test/e2e/cli-process.js';
import { readCapturedPackets } from './capture-file.js';
import { importCapture } from './import-capture.js';
import type { CaptureImportResult } from './import-capture.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REDIS = readFileSync(join(HERE, '../../protocols/redis/testdata/cli-commands.pcap'));
const HTTP = readFileSync(join(HERE, '../../protocols/http1/testdata/curl-keepalive.pcap'));

async function run(file: Buffer): Promise<{ spans: SpanRecord[]; result: CaptureImportResult }> {
  const spans: SpanRecord[] = [];
  const result = await importCapture(file, { observationPoint: 'c', hostId: 'h', interfaceName: 'lo', onSpans: (s) => void spans.push(...s) });
  return { spans, result };
}

/** Byte offsets of each classic-pcap record header (16-byte headers). */
function recordOffsets(file: Buffer): number[] {
  const out: number[] = [];
  for (let off = 24; off + 16 <= file.length; off += 16 + file.readUInt32LE(off + 8)) out.push(off);
  return out;
}

const cmds = (spans: SpanRecord[]): string[] => spans.map((s) => `${s.requestType} ${s.requestResource}`.trim());

describe('damaged captures keep what came before the damage', () => {
  it('a bad record in the middle: the exchanges before it, and a warning naming the offset', async () => {
    const whole = await run(HTTP);
    const offs = recordOffsets(HTTP);
    const bad = Buffer.from(HTTP);
    const at = offs[Math.floor(offs.length * 0.75)] as number;
    bad.writeUInt32LE(0x7fffffff, at + 8); // caplen: not credible
    const { spans, result } = await run(bad);
    expect(result.problem).toMatchObject({ kind: 'malformed', offset: at });
    expect(result.packets).toBe(offs.indexOf(at));
    expect(spans.length).toBeGreaterThan(0);
    expect(spans.length).toBeLessThanOrEqual(whole.spans.length);
    for (const s of spans.filter((x) => x.responseStatus !== 'timeout')) expect(cmds(whole.spans)).toContain(cmds([s])[0]);
  });

  it('trailing garbage: every exchange, and a warning', async () => {
    const whole = await run(REDIS);
    const { spans, result } = await run(Buffer.concat([REDIS, Buffer.from('\n-- end of capture, appended by a careless script --\n')]));
    expect(cmds(spans)).toEqual(cmds(whole.spans));
    expect(result.problem?.kind).toBe('malformed');
    expect(result.problem?.offset).toBe(REDIS.length);
  });

  it('a file cut mid-packet: the packets before it, and a warning that it was cut', async () => {
    const offs = recordOffsets(REDIS);
    const last = offs[offs.length - 1] as number;
    const cut = REDIS.subarray(0, last + 16 + 10);
    const packets = [...readCapturedPackets(cut, () => undefined)];
    expect(packets.length).toBe(offs.length - 1);
    const { result } = await run(cut);
    expect(result.problem).toMatchObject({ kind: 'truncated', offset: last });
    expect(result.problem?.message).toMatch(/ends inside a packet/);
    // The same cut in a record header warns too.
    expect((await run(REDIS.subarray(0, last + 7))).result.problem).toMatchObject({ kind: 'truncated', offset: last });
    expect((await run(REDIS)).result.problem).toBeNull();
  });

  it('nothing readable at all is TRC_PCAP_MALFORMED', async () => {
    const garbage = Buffer.concat([REDIS.subarray(0, 24), Buffer.from('not a single packet record in here, sorry')]);
    await expect(run(garbage)).rejects.toThrow(TracingError);
    await expect(run(garbage)).rejects.toThrow(/no packet could be read/);
  });
});

describe('unusual capture formats', () => {
  it('reads the modified pcap format (magic a1b2cd34) like the original capture', async () => {
    const mod = readFileSync(join(HERE, 'testdata/redis-cli-modpcap.pcap'));
    expect(mod.readUInt32LE(0)).toBe(0xa1b2cd34);
    const a = await run(REDIS);
    const b = await run(mod);
    expect(b.result.problem).toBeNull();
    expect(b.result.packets).toBe(a.result.packets);
    expect(b.spans.map((s) => [cmds([s])[0], s.startTimeUnixNano, s.reqTcpSeq])).toEqual(a.spans.map((s) => [cmds([s])[0], s.startTimeUnixNano, s.reqTcpSeq]));
  });

  it('an unsupported link type names itself in the error', async () => {
    const user0 = readFileSync(join(HERE, 'testdata/redis-cli-user0.pcap'));
    await expect(run(user0)).rejects.toThrow(/LINKTYPE_USER0 \(147\)/);
  });
});

describe('weft import-pcap on damaged files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-pcap-damage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('warns and exits 0 when something was read; exits 2 naming the link type when nothing was', async () => {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, REDIS.subarray(0, REDIS.length - 5));
    const data = join(dir, 'data');
    const ok = await runToEnd(cliFromSource(['import-pcap', cut, '--data', data]));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/weft: warning: capture file: the file ends inside a packet .* at byte \d+; read the \d+ packets before it/);
    expect(ok.stdout).toMatch(/imported \d+ NET spans/);
    const user0 = await runToEnd(cliFromSource(['import-pcap', join(HERE, 'testdata/redis-cli-user0.pcap'), '--data', join(dir, 'data2')]));
    expect(user0.code).toBe(2);
    expect(user0.stderr).toMatch(/LINKTYPE_USER0 \(147\).*\[TRC_PCAP_MALFORMED\]/);
  });
});
