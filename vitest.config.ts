import { defineConfig } from 'vitest/config';

/**
 * Two projects, run one after the other:
 * - unit: files without real servers, three at a time (most wait on timers and child processes
 *   more than they compute: 138 s one at a time, 69 s three at a time on 2 cores);
 * - integration (`*.int.test.ts`): one file at a time, since they start real servers (redis-server,
 *   kcat, victoria-metrics, prometheus, influxd, snmpd, snmpsimd, chromium) and measure what
 *   happens in given seconds; starting one can take a few seconds on a busy 2-core machine.
 */
export default defineConfig({
  test: {
    setupFiles: ['./test/support/fast-check-seed.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts'],
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
