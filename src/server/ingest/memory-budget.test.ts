import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createMemoryBudget, reserveForRequest } from './memory-budget.js';

describe('memory budget', () => {
  it('returns every reservation and leaves no listener behind on a keep-alive connection', async () => {
    const budget = createMemoryBudget({ limitBytes: 1 << 20, maxRssBytes: 0 });
    const app = Fastify();
    const closeListeners: number[] = [];
    app.post('/v1/traces', async (req) => {
      expect(reserveForRequest(budget, req, 1000)).toBe(true);
      closeListeners.push(req.raw.socket.listenerCount('close'));
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 40; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/traces', agent, headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('error', reject);
          req.end('{}');
        });
      }
      // One connection served all 40: its listeners stay what one request adds, not one more per request.
      expect(closeListeners).toHaveLength(40);
      expect(Math.max(...closeListeners)).toBe(closeListeners[0]);
      await new Promise((r) => setTimeout(r, 50));
      expect(budget.stats().reservedBytes).toBe(0);
    } finally {
      agent.destroy();
      await app.close();
    }
  });
});
