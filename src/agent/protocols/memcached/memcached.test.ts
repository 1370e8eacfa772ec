/**
 * @module Memcached traffic from real libmemcached tools (text and --binary) on a non-standard
 * port (issue 8, A6): through the session table it is read as memcached, never as Redis (which
 * used to claim `get k` lines and time out every exchange), and every exchange is answered.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../../../model/index.js';
import { importCapture } from '../../capture/pcap/import-capture.js';
import { redisParser } from '../redis/index.js';
import { detectMemcached } from './parse.js';

const HERE = dirname(fileURLToPath(import.meta.url));

async function spansOf(name: string): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  await importCapture(readFileSync(join(HERE, 'testdata', `${name}.pcap`)), { observationPoint: 'c', hostId: 'h', onSpans: (s) => void spans.push(...s) });
  return spans;
}

describe('memcached detection and parsing on recorded traffic', () => {
  it('text protocol: memcached spans with results, no Redis, no timeouts', async () => {
    const spans = await spansOf('text-tools');
    expect(new Set(spans.map((s) => s.protocol))).toEqual(new Set(['memcached']));
    expect(spans.filter((s) => s.responseStatus !== 'ok')).toEqual([]);
    expect(spans.map((s) => `${s.requestType} ${s.requestResource} ${String(s.attributes['weft.memcached.result'])}`)).toEqual([
      'SET greeting STORED', 'SET numbers STORED', 'GET greeting VALUE', 'GET numbers VALUE', 'GET nope END', 'ADD greeting NOT_STORED',
      'TOUCH greeting TOUCHED', 'DELETE numbers DELETED', 'DELETE nope NOT_FOUND', 'VERSION  VERSION', 'STATS  END',
    ]);
  });

  it('binary protocol: paired by opaque, statuses as codes, multi-packet stat answer', async () => {
    const spans = await spansOf('binary-tools');
    expect(new Set(spans.map((s) => s.protocol))).toEqual(new Set(['memcached']));
    expect(spans.filter((s) => s.responseStatus !== 'ok')).toEqual([]);
    expect(spans.find((s) => s.requestResource === 'nope' && s.requestType === 'GETK')?.responseCode).toBe(1);
    expect(spans.find((s) => s.requestType === 'STAT')?.attributes['weft.memcached.result']).toBe('OK');
    expect(spans.filter((s) => s.requestType === 'QUIT')).toHaveLength(6);
  });

  it('Redis claims memcached lines on no evidence; memcached claims them only on strong evidence', () => {
    const line = (s: string) => Buffer.from(s, 'latin1');
    expect(redisParser.detect(line('get greeting\r\n'), 'request')).not.toBe('yes');
    expect(redisParser.detect(line('set greeting 0 0 5\r\nhello\r\n'), 'request')).toBe('no');
    expect(redisParser.detect(line('GET a b\r\n'), 'request')).toBe('no');
    expect(redisParser.detect(line('PING\r\n'), 'request')).toBe('yes');
    expect(detectMemcached(line('set greeting 0 0 5\r\nhello\r\n'), 'request')).toBe('yes');
    expect(detectMemcached(line('set greeting 0 0 3\r\nhello\r\n'), 'request')).toBe('no');
    expect(detectMemcached(line('GET greeting\r\n'), 'request')).toBe('no');
    expect(detectMemcached(line('+OK\r\n'), 'response')).toBe('no');
    expect(detectMemcached(line('VALUE k 0 2\r\nhi\r\nEND\r\n'), 'response')).toBe('yes');
  });
});
