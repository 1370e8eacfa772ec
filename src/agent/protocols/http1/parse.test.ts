/** @module HTTP/1.x framing edge cases the recorded goldens do not reach. */
import { describe, expect, it } from 'vitest';
import { httpEndpoint } from './to-span.js';
import { newHttpState, parseHttp, type HttpFrame } from './parse.js';
import type { ParseResult } from '../protocol.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const frame = (r: ParseResult<HttpFrame>): HttpFrame => {
  if (r.kind !== 'frame') throw new Error(`expected a frame, got ${r.kind}`);
  return r.frame;
};

describe('HTTP/1 parse', () => {
  it('frames a chunked body with extensions and trailers', () => {
    const s = newHttpState();
    s.pendingMethods.push('GET');
    const msg = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n';
    const r = parseHttp(b(msg + 'HTTP/1.1'), 'response', s);
    expect(r).toMatchObject({ kind: 'frame', consumed: msg.length });
  });

  it('skips 100 Continue and pairs the final response with the same request', () => {
    const s = newHttpState();
    expect(parseHttp(b('POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi'), 'request', s)).toMatchObject({ kind: 'frame' });
    expect(parseHttp(b('HTTP/1.1 100 Continue\r\n\r\n'), 'response', s)).toEqual({ kind: 'ignored', consumed: 25 });
    expect(frame(parseHttp(b('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n'), 'response', s))).toMatchObject({ status: 201 });
    expect(s.pendingMethods).toEqual([]);
  });

  it('needs more for a partial head, and frames it as partial at the end of a cut capture', () => {
    const s = newHttpState();
    const head = b('GET /a?b=1 HTTP/1.1\r\nHost: example.org\r\nX-Request-ID: r1\r\nCookie: sess');
    expect(parseHttp(head, 'request', s)).toEqual({ kind: 'needMore' });
    const f = frame(parseHttp(head, 'request', s, true));
    expect(f).toMatchObject({ method: 'GET', target: '/a?b=1', host: 'example.org', xRequestId: 'r1', partial: true });
  });

  it('a body longer than the capture is partial only at the end', () => {
    const s = newHttpState();
    const msg = b('POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\nabc');
    expect(parseHttp(msg, 'request', s)).toEqual({ kind: 'needMore' });
    expect(parseHttp(msg, 'request', s, true)).toMatchObject({ kind: 'frame', consumed: msg.length });
  });

  it('after 101 Switching Protocols the stream is no longer parsed', () => {
    const s = newHttpState();
    parseHttp(b('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n'), 'request', s);
    expect(frame(parseHttp(b('HTTP/1.1 101 Switching Protocols\r\n\r\n'), 'response', s))).toMatchObject({ status: 101 });
    expect(parseHttp(b('\x81\x05hello'), 'response', s)).toEqual({ kind: 'ignored', consumed: 7 });
  });

  it.each(['GET / HTTP/2.0\r\n\r\n', 'get / HTTP/1.1\r\n\r\n', 'GET /\r\n\r\n', 'GET / HTTP/1.1\r\nno colon here\r\n\r\n', 'GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n'])(
    'rejects %j',
    (msg) => {
      expect(parseHttp(b(msg), 'request', newHttpState()).kind).toBe('invalid');
    },
  );

  it.each([
    ['/api/v1/users/42?x=1', '/api/v1'],
    ['/a.txt', '/a.txt'],
    ['/', '/'],
    ['http://h:80/x/y/z', '/x/y'],
    ['*', '*'],
  ])('endpoint of %s is %s', (target, want) => {
    expect(httpEndpoint(target)).toBe(want);
  });
});
