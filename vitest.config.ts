import { defineConfig } from 'vitest/config';
import LongFirstSequencer from './test/support/sequencer.js';

/**
 * Integration files that measure what happens within given seconds across several processes
 * (take-overs, recovery deadlines, outage figures): they run alone, so no other file's load
 * shifts their timings. (The short fault suite asserts what is lost and logged, not how fast:
 * it runs beside the other integration files.)
 */
const TIMED = [
  'test/stages/distributed.int.test.ts',
  'test/stages/dependencies.int.test.ts',
  'test/stages/inventory.int.test.ts',
  'test/federation/forward.int.test.ts',
  'test/federation/spool-bound.int.test.ts',
];

/**
 * Three projects, run one after the other (sequence.groupOrder):
 * - unit: files without real servers, three at a time (most wait on timers and child processes
 *   more than they compute: 138 s one at a time, 69 s three at a time on 2 cores);
 * - integration (`*.int.test.ts`): real servers (redis-server, kcat, victoria-metrics, prometheus,
 *   influxd, snmpd, snmpsimd, the gNMI target, chromium), two files at a time: they wait on the
 *   servers far more than they compute (the whole suite used 0.4 cores on average one file at a
 *   time);
 * - timed: the TIMED files, one at a time.
 * Starting a server can take a few seconds on a busy 2-core machine: hence the hook timeout.
 * Within a project the files known to be long start first (test/support/sequencer.ts).
 */
export default defineConfig({
  test: {
    setupFiles: ['./test/support/fast-check-seed.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    sequence: { sequencer: LongFirstSequencer },
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
          exclude: TIMED,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'timed',
          include: TIMED,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
