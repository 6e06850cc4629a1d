/**
 * The order files are handed to vitest's workers in. vitest runs the files it has timings for
 * longest first, but a fresh checkout (CI) has none, and then it runs the largest files first:
 * the fault suite, a short file that runs for minutes, started last and ran alone at the end of
 * the integration project. Here the files known to be long come first in each project, longest
 * first, so the short ones fill the other workers meanwhile; the rest keep vitest's order.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';

/**
 * Files that take longest, longest first (seconds of a fresh-clone `npm test` on 2 cores in
 * brackets). Only the order matters; a file missing from disk is an error, so the list follows
 * renames.
 */
export const LONG_FILES: readonly string[] = [
  'test/faults/faults.int.test.ts', // 133 (193 before its stages started side by side)
  'test/gnmi/telemetry.int.test.ts', // 73
  'test/bus/bus-contract-kafka.int.test.ts', // 47
  'test/bus/kafka-bus.int.test.ts', // 42
  'test/cli/secrets-process.int.test.ts', // 36
  'test/consumers/prometheus.int.test.ts', // 33
  'test/cli/run-process.test.ts', // 33
  'test/console/console-browser.int.test.ts', // 32
  'test/actors/polling-agent.test.ts', // 22
  'test/federation/mirror.int.test.ts', // 21
  'test/gnmi/parity.int.test.ts', // 12
  'test/stages/embedded-snmpsim.int.test.ts', // 11
];

export default class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    for (const file of LONG_FILES)
      if (!existsSync(resolve(root, file)))
        throw new Error(`test/support/sequencer.ts: LONG_FILES names ${file}, which does not exist`);
    const rank = new Map(LONG_FILES.map((f, i) => [resolve(root, f), i]));
    const sorted = await super.sort(files);
    // Projects stay where vitest put them (they run one after the other); within one, the long
    // files first in LONG_FILES order, then the others in vitest's order.
    const projectAt = new Map<string, number>();
    sorted.forEach((s, i) => {
      if (!projectAt.has(s.project.name)) projectAt.set(s.project.name, i);
    });
    const key = (s: TestSpecification, i: number): [number, number, number] => [
      projectAt.get(s.project.name) ?? 0,
      rank.get(s.moduleId) ?? LONG_FILES.length,
      i,
    ];
    return sorted
      .map((s, i) => ({ s, k: key(s, i) }))
      .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2])
      .map(({ s }) => s);
  }
}
