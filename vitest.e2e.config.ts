import {defineConfig} from 'vitest/config';

// End-to-end tests: a real server, a real WebSocket and Debian's Chromium via playwright-core.
export default defineConfig({
  test: {
    include: ['**/*.e2e.test.ts'],
    exclude: ['node_modules/**'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    passWithNoTests: true,
  },
});
