import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/support/fast-check-seed.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Integration tests start real servers (redis-server, kcat, victoria-metrics, snmpd,
    // snmpsimd); starting one can take a few seconds on a busy 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
