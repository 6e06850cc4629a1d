/**
 * A short fault suite (the full one is `npm run faults`, FAULTS.md): three faults, each in a fresh
 * distributed deployment of 6 devices x 4 interfaces polled every 4 s (every stage a process of
 * the built CLI, on redis-server, the Kafka test broker and victoria-metrics):
 *
 *   1. Redis stopped for 8 s and started again empty;
 *   2. the consumer killed (SIGKILL) and started again 6 s later;
 *   3. poison records on `<site>-resources` and `<site>-processed` (invalid JSON, schema-invalid,
 *      10 MB).
 *
 * Each asserts what the deployment must do: no process exits by itself; after a consumer crash
 * and after poison nothing published is missing from VictoriaMetrics; an outage is logged as it
 * begins and ends.
 */
import { describe, expect, it } from 'vitest';
import { faultNamed, poisonWithinBrokerLimits } from '../../bench/faults/faults.js';
import { FaultRun, settingsFromEnv } from '../../bench/faults/harness.js';
import type { FaultDefinition, FaultResult } from '../../bench/faults/harness.js';

const SETTINGS = {
  ...settingsFromEnv({}),
  devices: 6,
  interfaces: 4,
  intervalSeconds: 4,
  warmupSeconds: 8,
  faultSeconds: 8,
  observeSeconds: 10,
};

function fault(name: string, changes: Partial<FaultDefinition> = {}): FaultDefinition {
  const f = faultNamed(name);
  if (f === undefined) throw new Error(`no fault ${name}`);
  return { ...f, ...changes };
}

async function run(definition: FaultDefinition, seconds?: number): Promise<FaultResult> {
  const settings = seconds === undefined ? SETTINGS : { ...SETTINGS, faultSeconds: seconds };
  const result = await new FaultRun(definition, settings, () => undefined).execute();
  return result;
}

/** What to show when an assertion fails. */
function explain(r: FaultResult): string {
  const { timeline: _timeline, ...rest } = r;
  return JSON.stringify(rest, null, 1).slice(0, 6000);
}

describe('faults (short versions of npm run faults)', () => {
  it('Redis stopped 8 s: every process stays up, the outage is logged as it begins and ends', async () => {
    const r = await run(fault('redis'));
    expect(r.error, explain(r)).toBeNull();
    expect(r.allUp, explain(r)).toBe(true);
    expect(r.groups?.published, explain(r)).toBeGreaterThan(0);
    // Every group published reached VictoriaMetrics (polls not made are counted apart).
    expect(r.groups?.delivered, explain(r)).toBeGreaterThanOrEqual(r.groups?.published ?? Infinity);
    expect(r.logs, explain(r)).toEqual({ start: true, end: true });
  }, 240_000);

  it('consumer killed and restarted: every process stays up, nothing published is lost', async () => {
    const r = await run(fault('consumer-kill'), 6);
    expect(r.error, explain(r)).toBeNull();
    expect(r.allUp, explain(r)).toBe(true);
    const g = r.groups;
    expect(g, explain(r)).not.toBeNull();
    expect(g?.delivered, explain(r)).toBeGreaterThanOrEqual(g?.published ?? Infinity);
    expect(g?.lost, explain(r)).toBe(0);
    expect(g?.jsonl?.lost, explain(r)).toBe(0);
  }, 240_000);

  it('poison records: every process stays up, nothing published is lost', async () => {
    // The 10 MB records as a Kafka cluster with default limits takes them (refused at the
    // producer); forced past that, the test broker's bounded partition log drops records around
    // them (FAULTS.md, poison).
    const r = await run(poisonWithinBrokerLimits);
    expect(r.error, explain(r)).toBeNull();
    expect(r.allUp, explain(r)).toBe(true);
    expect(r.groups?.lost, explain(r)).toBe(0);
    expect(r.logs.start, explain(r)).toBe(true);
  }, 240_000);
});
