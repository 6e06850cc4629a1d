/**
 * The profile engine: fetches what a set of profiles needs from one device (one GET for every
 * scalar, one table walk per table, each column walked once however many profiles name it) and
 * turns the answers into metrics groups. A table that fails or is empty costs only the groups
 * built from it: the rest are still made, and the result says what failed.
 */
import { METRICS_GROUP_SCHEMA_VERSION } from '../model/index.js';
import type { Dimension, Metric, MetricsGroup, PollingStatusName, Resource } from '../model/index.js';
import { compareOids } from '../snmp/oid.js';
import type { SnmpSession } from '../snmp/session.js';
import type { CounterHint } from '../streams/counter-rate.js';
import type { EvalContext, TableData } from './compile.js';
import type { Profile, TableRule } from './profile.js';
import { asNumber, asText, fromVarbind, truthy } from './values.js';
import type { Value } from './values.js';

/** Panoptes' value for a dimension the device did not give. */
export const NOT_SET = '<not set>';

export interface ProfileRunOptions {
  readonly resource: Resource;
  /** The plugin's execute_frequency (seconds): the groups' interval, and `interval` in expressions. */
  readonly interval: number;
  /** Creation time of the groups (ms since the epoch). Default: when the answers are in. */
  readonly now?: () => number;
}

export interface ProfileRunResult {
  readonly groups: MetricsGroup[];
  readonly status: PollingStatusName;
  /** What could not be fetched or built, one line each (`profile: table cpu: SNMP timeout ...`). */
  readonly failures: readonly string[];
  readonly counters: ReadonlyMap<MetricsGroup, Readonly<Record<string, CounterHint>>>;
}

function compareIndexes(a: string, b: string): number {
  return a.includes('.') || b.includes('.') ? compareOids(a, b) : Number(a) - Number(b);
}

function tableData(
  rule: TableRule,
  walked: ReadonlyMap<string, readonly { oid: string; value: Value }[]>,
): TableData {
  const columns = new Map<string, Map<string, Value>>();
  const indexes = new Set<string>();
  for (const [col, oid] of rule.columns) {
    const values = new Map<string, Value>();
    const prefix = `${oid}.`;
    for (const vb of walked.get(oid) ?? []) {
      if (vb.value === undefined || !vb.oid.startsWith(prefix)) continue;
      const index = vb.oid.slice(prefix.length);
      values.set(index, vb.value);
      indexes.add(index);
    }
    columns.set(col, values);
  }
  return { indexes: [...indexes].sort(compareIndexes), columns };
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Polls a device with profiles; throws only when nothing at all could be fetched (the first error). */
export async function runProfiles(
  profiles: readonly Profile[],
  session: SnmpSession,
  options: ProfileRunOptions,
): Promise<ProfileRunResult> {
  const { resource, interval } = options;
  const failures: string[] = [];
  const errors: unknown[] = [];
  let fetches = 0;

  // Scalars of every profile in one GET.
  const scalarOids = [...new Set(profiles.flatMap((p) => [...p.scalars.values()]))];
  const scalarValues = new Map<string, Value>();
  if (scalarOids.length > 0) {
    fetches++;
    try {
      const vbs = await session.get(scalarOids);
      for (const vb of vbs) scalarValues.set(vb.oid, fromVarbind(vb));
    } catch (e) {
      errors.push(e);
      failures.push(`scalars: ${describeError(e)}`);
    }
  }

  // Tables: each column walked once, whichever profiles and tables name it.
  const pre: EvalContext = { tables: new Map(), scalars: new Map(), resource, interval, index: undefined };
  const walks = new Map<string, Promise<readonly { oid: string; value: Value }[]>>();
  const walkColumns = (
    oids: readonly string[],
  ): Promise<Map<string, readonly { oid: string; value: Value }[]>> => {
    const missing = oids.filter((o) => !walks.has(o));
    if (missing.length > 0) {
      const all = session.walkColumns(missing);
      for (const o of missing) {
        walks.set(
          o,
          all.then((m) => (m.get(o) ?? []).map((vb) => ({ oid: vb.oid, value: fromVarbind(vb) }))),
        );
      }
    }
    return Promise.all(
      oids.map(
        async (o) => [o, await (walks.get(o) as Promise<readonly { oid: string; value: Value }[]>)] as const,
      ),
    ).then((entries) => new Map(entries));
  };
  const perProfile = await Promise.all(
    profiles.map(async (p) => {
      const tables = new Map<string, TableData>();
      const failed = new Set<string>();
      await Promise.all(
        [...p.tables.values()].map(async (t) => {
          if (t.when !== undefined && !truthy(t.when(pre))) return;
          fetches++;
          try {
            tables.set(t.name, tableData(t, await walkColumns([...t.columns.values()])));
          } catch (e) {
            errors.push(e);
            failed.add(t.name);
            failures.push(`${p.name}: table ${t.name}: ${describeError(e)}`);
          }
        }),
      );
      return { profile: p, tables, failed };
    }),
  );
  if (fetches > 0 && errors.length === fetches) throw errors[0];

  const at = (options.now ?? Date.now)();
  const timestamp = at / 1000;
  const groups: MetricsGroup[] = [];
  const counters = new Map<MetricsGroup, Record<string, CounterHint>>();
  let partial = failures.length > 0;
  for (const { profile, tables, failed } of perProfile) {
    const scalars = new Map<string, Value>();
    for (const [n, oid] of profile.scalars) scalars.set(n, scalarValues.get(oid));
    const base: EvalContext = { tables, scalars, resource, interval, index: undefined };
    for (const rule of profile.groups) {
      if (rule.when !== undefined && !truthy(rule.when(base))) continue;
      let rows: readonly (string | undefined)[] = [undefined];
      if (rule.table !== undefined) {
        if (failed.has(rule.table)) continue;
        const data = tables.get(rule.table);
        if (data === undefined) continue; // its table's `when` was false
        if (data.indexes.length === 0) {
          if (!rule.optional) {
            partial = true;
            failures.push(`${profile.name}: ${rule.type} groups: table ${rule.table} has no rows`);
          }
          continue;
        }
        rows = data.indexes;
      }
      for (const index of rows) {
        const c: EvalContext = index === undefined ? base : { ...base, index };
        if (rule.where !== undefined && !truthy(rule.where(c))) continue;
        const dimensions: Dimension[] = rule.dimensions.map(([name, f]) => {
          const t = asText(f(c));
          return { dimension_name: name, dimension_value: t === undefined || t === '' ? NOT_SET : t };
        });
        const metrics: Metric[] = [];
        const hints: Record<string, CounterHint> = {};
        for (const m of rule.metrics) {
          const n = asNumber(m.value(c));
          if (n === undefined) {
            partial = true;
            continue;
          }
          metrics.push({
            metric_name: m.name,
            metric_value: n,
            metric_type: m.type,
            metric_creation_timestamp: timestamp,
          });
          if (m.type === 'counter')
            hints[m.name] = { width: typeof n === 'bigint' || n > 0xffffffff ? 64 : 32 };
        }
        if (metrics.length === 0) continue;
        const group: MetricsGroup = {
          metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
          metrics_group_type: rule.type,
          metrics_group_interval: interval,
          metrics_group_creation_timestamp: timestamp,
          resource,
          dimensions,
          metrics,
        };
        groups.push(group);
        if (Object.keys(hints).length > 0) counters.set(group, hints);
      }
    }
  }
  const status: PollingStatusName = groups.length === 0 ? 'missingData' : partial ? 'partial' : 'success';
  return { groups, status, failures, counters };
}
