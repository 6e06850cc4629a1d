/** How the fault suite counts missed polls (bench/faults/measure.ts). */
import { describe, expect, it } from 'vitest';
import { missedPolls, tallyTsdb } from '../../bench/faults/measure.js';

/** The interval, ms; times below are in seconds. */
const S = 10_000;
const sec = (x: number): number => x * 1000;

function series(
  resource: string,
  timestamps: number[],
): { metric: Record<string, string>; timestamps: number[] } {
  return {
    metric: { __name__: 'status_polling_status__gauge', resource_id: resource, plugin: 'p' },
    timestamps,
  };
}

describe('missedPolls', () => {
  const window = { from: sec(100), to: sec(160), intervalMs: S };

  it('counts the due times of the window that left no group', () => {
    const every = Array.from({ length: 10 }, (_, i) => sec(80 + 10 * i));
    const gap = every.filter((t) => t !== sec(120) && t !== sec(130));
    const m = missedPolls(tallyTsdb([series('a', every), series('b', gap)]), window);
    expect(m.identities).toBe(2);
    expect(m.missed).toBe(2);
    expect(m.examples).toEqual(['status b p: 2']);
  });

  it('counts a poll made late (stamped between two due times) as made', () => {
    const ts = [90, 100, 110, 125.5, 130, 145, 150, 160, 170].map(sec);
    expect(missedPolls(tallyTsdb([series('a', ts)]), window).missed).toBe(0);
  });

  it('leaves out identities the fault silences, and those not polled every interval', () => {
    const silenced = [80, 90].map(sec);
    const hourly = [0, 3600].map(sec);
    const m = missedPolls(tallyTsdb([series('x', silenced), series('h', hourly)]), {
      ...window,
      excluded: (g) => g.labels['resource_id'] === 'x',
    });
    expect(m).toMatchObject({ missed: 0, identities: 0, excluded: 1 });
  });
});
