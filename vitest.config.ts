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
  },
});
