import { defineConfig } from 'vitest/config';

// Sandbox tests can crash or hang a process: each test file runs in its own
// forked worker. Two cores: at most two files at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
