import { describe, expect, it } from 'vitest';
import { escapeHtml, renderPlaceholderPage } from './placeholder-page.js';

describe('placeholder page', () => {
  it('escapes HTML metacharacters', () => {
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  });
  it('lists the ports and loads its script from the same origin only', () => {
    const html = renderPlaceholderPage({ ports: { query: 16686, otlpHttp: 4318, '<b>': 1 }, tokenRequired: true });
    expect(html).toContain('<td>Query API and UI</td><td>16686</td>');
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toContain('<b>');
    expect(html).toContain('<script src="/ui/placeholder.js"></script>');
    expect(html).toContain('(required)');
  });
});
