import {defineConfig} from 'vitest/config';

// Unit and integration tests (Node). Live-kernel tests skip with a message where tracefs or
// trace-cmd is missing, and fail instead under CI=true on a machine that has them
// (server/testing/kernel-gate.ts).
export default defineConfig({
  test: {
    include: ['{core,server,worker,app,bench}/**/*.test.{ts,tsx}'],
    exclude: ['**/*.e2e.test.ts', 'node_modules/**'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Live-kernel tests share one tracefs: run files one at a time so instances do not race
    // for CPU time, and keep the 2-core machine responsive.
    fileParallelism: false,
  },
});
