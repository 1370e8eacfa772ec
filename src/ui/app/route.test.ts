import { describe, expect, it } from 'vitest';
import { emptySearch, idFromPaste, parseRoute, routeUrl, searchParams } from './route.js';

describe('route', () => {
  it('a trace deep link round-trips: trace, span and zoom', () => {
    const url = routeUrl({ page: 'trace', traceId: 'abc', spanId: 'sys:c-p:1 2', zoom: { fromMs: 1.5, toMs: 12.000001 } });
    expect(url).toBe('/trace/abc?span=sys%3Ac-p%3A1+2&from=1.5&to=12.000001');
    const u = new URL(url, 'http://x');
    expect(parseRoute(u.pathname, u.search)).toEqual({ page: 'trace', traceId: 'abc', spanId: 'sys:c-p:1 2', zoom: { fromMs: 1.5, toMs: 12.000001 } });
  });
  it('ids with slashes and hostile characters stay one path segment', () => {
    const id = '../<img src=x>/a';
    const u = new URL(routeUrl({ page: 'trace', traceId: id, spanId: null, zoom: null }), 'http://x');
    expect(u.pathname.split('/')).toHaveLength(3);
    expect(parseRoute(u.pathname, u.search)).toMatchObject({ page: 'trace', traceId: id });
  });
  it('a bad zoom is ignored, not an error', () => {
    expect(parseRoute('/trace/abc', '?from=5&to=2')).toMatchObject({ zoom: null });
    expect(parseRoute('/trace/abc', '?from=x&to=2')).toMatchObject({ zoom: null });
  });
  it('search fields round-trip and resolve the lookback', () => {
    const q = { ...emptySearch(), service: 'nginx', source: 'sys', minDuration: '10ms', lookback: '15m' };
    const u = new URL(routeUrl({ page: 'search', query: q, submitted: true }), 'http://x');
    const r = parseRoute(u.pathname, u.search);
    expect(r).toMatchObject({ page: 'search', query: q, submitted: true });
    const p = searchParams(q, 1_000_000_000);
    expect(p.get('service')).toBe('nginx');
    expect(p.get('start')).toBe(String((1_000_000_000 - 900_000) * 1_000_000));
    expect(p.get('end')).toBeNull();
    const custom = searchParams({ ...q, lookback: 'custom', start: '1000', end: '2000' }, 0);
    expect([custom.get('start'), custom.get('end')]).toEqual(['1000000000', '2000000000']);
  });
  it('a pasted traceparent opens its trace id', () => {
    expect(idFromPaste(' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01 ')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(idFromPaste(' 2a9b.41.17000 ')).toBe('2a9b.41.17000');
  });
});
