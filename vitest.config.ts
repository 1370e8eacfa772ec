import { defineConfig } from 'vitest/config';

// Two cores here and in CI: run test files in at most two forks. End-to-end files start real
// servers, so their timeouts are generous; unit tests stay fast on their own.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // A `weft up` started by a test would hook every Node.js server it sees, other test files'
    // workers included; tests that want the Node.js hook ask for it (WEFT_NODE_HOOK=1, nodeHook: true).
    env: { WEFT_NODE_HOOK: '0' },
  },
});
