/**
 * Profiles against recordings, without a network: polls an snmprec recording through an
 * in-memory session with built-in profiles, and scores the groups against what Panoptes
 * produced for the same recording (test/fixtures/panoptes/*.results.json). The integration test
 * (test/profiles/panoptes-parity.int.test.ts) does the same through the simulator and `panoptes poll`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricsGroup, Resource } from '../../src/model/index.js';
import { runProfiles } from '../../src/profiles/engine.js';
import type { ProfileRunResult } from '../../src/profiles/engine.js';
import { loadProfileFile } from '../../src/profiles/profile.js';
import type { Profile } from '../../src/profiles/profile.js';
import { MemorySnmpSession } from './memory-snmp-session.js';

export { loadProfileFile };

export const FIXTURES = fileURLToPath(new URL('../fixtures/panoptes/', import.meta.url));
export const BUILTIN_PROFILES = fileURLToPath(new URL('../../plugins/profiles/', import.meta.url));

export function testResource(overrides: Partial<Resource> = {}): Resource {
  return {
    resource_id: 'test_id',
    resource_site: 'test_site',
    resource_endpoint: '127.0.0.1',
    resource_class: 'network',
    resource_subclass: 'test_subclass',
    resource_type: 'test_type',
    resource_creation_timestamp: 1_700_000_000,
    resource_creation_plugin: 'test',
    ...overrides,
    resource_metadata: { _resource_ttl: '604800', ...(overrides.resource_metadata ?? {}) },
  };
}

export async function builtinProfile(name: string): Promise<Profile> {
  return loadProfileFile(join(BUILTIN_PROFILES, `${name}.yaml`));
}

export interface PollRecordingOptions {
  /** Built-in profile names (plugins/profiles/NAME.yaml). */
  readonly profiles: readonly string[];
  readonly resource?: Partial<Resource>;
  /** Seconds; default 60 (Panoptes' tests polled every 60 s). */
  readonly interval?: number;
  /** OID prefixes that time out. */
  readonly fail?: readonly string[];
}

export async function pollRecordingResult(
  recording: string,
  options: PollRecordingOptions,
): Promise<ProfileRunResult> {
  const path = isAbsolute(recording) ? recording : join(FIXTURES, recording);
  const session = MemorySnmpSession.fromSnmprec(path, { fail: options.fail ?? [] });
  const profiles = await Promise.all(options.profiles.map(builtinProfile));
  return runProfiles(profiles, session, {
    resource: testResource(options.resource),
    interval: options.interval ?? 60,
    now: () => 1_700_000_000_000,
  });
}

export async function pollRecording(
  recording: string,
  options: PollRecordingOptions,
): Promise<MetricsGroup[]> {
  return (await pollRecordingResult(recording, options)).groups;
}

interface PanoptesGroup {
  metrics_group_type: string;
  dimensions: { dimension_name: string; dimension_value: string }[];
  metrics: { metric_name: string; metric_value: number }[];
}

function seriesKey(
  type: string,
  dims: readonly { dimension_name: string; dimension_value: string }[],
  metric: string,
): string {
  const d = [...dims]
    .map((x) => `${x.dimension_name}=${x.dimension_value}`)
    .sort()
    .join(',');
  return `${type}{${d}}.${metric}`;
}

/** Whether our value is Panoptes' within 0.5% (exactly, for 0). */
export function closeEnough(ours: number | bigint, theirs: number): boolean {
  const a = Number(ours);
  if (theirs === 0) return a === 0;
  return Math.abs(a - theirs) <= 0.005 * Math.abs(theirs);
}

export interface Score {
  readonly matched: number;
  readonly total: number;
  /** Panoptes' values we did not reproduce: `key = theirs (ours: ...)`. */
  readonly misses: string[];
  /** Our series Panoptes did not have. */
  readonly extra: string[];
}

/**
 * Scores groups against a Panoptes results file: every metric value of every group but `status`
 * counts once; ours matches when group type, dimensions (names and values) and metric name are
 * the same and the value is within 0.5%. A series that appears more than once is matched as a
 * multiset.
 */
export function scoreAgainstPanoptes(groups: readonly MetricsGroup[], resultsFile: string): Score {
  const path = isAbsolute(resultsFile) ? resultsFile : join(FIXTURES, resultsFile);
  const expected = JSON.parse(readFileSync(path, 'utf8')) as PanoptesGroup[];
  const ours = new Map<string, (number | bigint)[]>();
  for (const g of groups) {
    if (g.metrics_group_type === 'status') continue;
    for (const m of g.metrics) {
      const k = seriesKey(g.metrics_group_type, g.dimensions, m.metric_name);
      const list = ours.get(k) ?? [];
      list.push(m.metric_value);
      ours.set(k, list);
    }
  }
  const seen = new Set<string>();
  let matched = 0;
  let total = 0;
  const misses: string[] = [];
  for (const g of expected) {
    if (g.metrics_group_type === 'status') continue;
    for (const m of g.metrics) {
      total++;
      const k = seriesKey(g.metrics_group_type, g.dimensions, m.metric_name);
      seen.add(k);
      const list = ours.get(k) ?? [];
      const i = list.findIndex((v) => closeEnough(v, m.metric_value));
      if (i >= 0) {
        matched++;
        list.splice(i, 1);
      } else {
        misses.push(
          `${k} = ${m.metric_value} (ours: ${list.length === 0 ? 'none' : list.map(String).join(', ')})`,
        );
      }
    }
  }
  const extra = [...ours.keys()].filter((k) => !seen.has(k));
  return { matched, total, misses, extra };
}
