import { describe, expect, it } from 'vitest';
import { bearerMatches } from './auth.js';
import { createMetricsRegistry, renderPrometheus } from './metrics.js';

describe('renderPrometheus', () => {
  it('writes HELP and TYPE once per name and escapes label values', () => {
    const text = renderPrometheus([
      { name: 'weft_x_total', help: 'X.', type: 'counter', labels: { receiver: 'a"b\\c\nd' }, value: 3 },
      { name: 'weft_x_total', help: 'X.', type: 'counter', labels: { receiver: 'b' }, value: 4 },
      { name: 'weft_g', help: 'G.', type: 'gauge', value: Number.NaN },
    ]);
    expect(text).toBe(
      ['# HELP weft_x_total X.', '# TYPE weft_x_total counter', 'weft_x_total{receiver="a\\"b\\\\c\\nd"} 3', 'weft_x_total{receiver="b"} 4', '# HELP weft_g G.', '# TYPE weft_g gauge', 'weft_g NaN', ''].join('\n'),
    );
  });

  it('keeps scraping when one collector fails', async () => {
    const reg = createMetricsRegistry();
    reg.add(() => {
      throw new Error('store closing');
    });
    reg.add(async () => [{ name: 'weft_ok', help: 'ok', type: 'gauge', value: 1 }]);
    expect(await reg.scrape()).toContain('weft_ok 1');
  });
});

describe('bearerMatches', () => {
  it('accepts exactly the token', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cret2', 's3cret')).toBe(false);
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
    expect(bearerMatches('Bearer ', 's3cret')).toBe(false);
  });
});
