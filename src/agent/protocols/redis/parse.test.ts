/** @module RESP3 cases the recorded goldens do not reach: attributes, pushes, bulk errors, nulls. */
import { describe, expect, it } from 'vitest';
import { parseRedis } from './parse.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('Redis parse', () => {
  it('reads an attribute-prefixed reply as the reply it annotates', () => {
    const msg = '|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n';
    expect(parseRedis(b(msg), 'response', {})).toMatchObject({ kind: 'frame', frame: { replyType: '*' }, consumed: msg.length });
  });

  it('ignores out-of-band pushes', () => {
    const msg = '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n';
    expect(parseRedis(b(msg), 'response', {})).toEqual({ kind: 'ignored', consumed: msg.length });
  });

  it('reads bulk errors and RESP2 nulls', () => {
    expect(parseRedis(b('!21\r\nSYNTAX invalid syntax\r\n'), 'response', {})).toMatchObject({ frame: { error: 'SYNTAX invalid syntax' } });
    expect(parseRedis(b('$-1\r\n'), 'response', {})).toMatchObject({ kind: 'frame', consumed: 5 });
    expect(parseRedis(b('*-1\r\n'), 'response', {})).toMatchObject({ kind: 'frame', consumed: 5 });
  });

  it('needs more for a cut reply, and frames it partially at the end', () => {
    expect(parseRedis(b('$10\r\nabc'), 'response', {})).toEqual({ kind: 'needMore' });
    expect(parseRedis(b('$10\r\nabc'), 'response', {}, true)).toMatchObject({ kind: 'frame', frame: { partial: true } });
  });

  it('rejects non-RESP bytes and absurd nesting', () => {
    expect(parseRedis(b('hello\r\n'), 'response', {}).kind).toBe('invalid');
    expect(parseRedis(b('*1\r\n'.repeat(100)), 'response', {}).kind).toBe('invalid');
  });
});
