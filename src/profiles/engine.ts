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
import type { Varbind } from '../snmp/types.js';
import type { CounterHint } from '../streams/counter-rate.js';
import type { CounterTrace, EvalContext, TableData } from './compile.js';
import type { MetricRule, Profile, TableRule } from './profile.js';
import { asFloat, asNumber, asText, counterWidth, fromVarbind, narrow, truthy } from './values.js';
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
  /** The scalars fetched, by OID (missing: not answered). */
  readonly scalars: ReadonlyMap<string, Value>;
}

function compareIndexes(a: string, b: string): number {
  return a.includes('.') || b.includes('.') ? compareOids(a, b) : Number(a) - Number(b);
}

/** One walked column: its varbinds, and whether they are counters (Counter32, Counter64). */
interface WalkedColumn {
  readonly varbinds: readonly Varbind[];
  readonly counter: boolean;
}

function walkedColumn(varbinds: readonly Varbind[]): WalkedColumn {
  let counter = false;
  for (const vb of varbinds) {
    if (counterWidth(vb) !== undefined) {
      counter = true;
      break;
    }
  }
  return { varbinds, counter };
}

/** Numeric indexes in numeric order, dotted ones in OID order. */
function sortIndexes(indexes: Set<string>): string[] {
  const out = [...indexes];
  for (const i of out) if (i.includes('.')) return out.sort(compareIndexes);
  return out.sort((a, b) => Number(a) - Number(b));
}

function tableData(rule: TableRule, walked: ReadonlyMap<string, WalkedColumn>): TableData {
  const columns = new Map<string, Map<string, Value>>();
  const indexes = new Set<string>();
  let counters: Set<string> | undefined;
  for (const [col, oid] of rule.columns) {
    const values = new Map<string, Value>();
    const prefix = `${oid}.`;
    const w = walked.get(oid);
    if (w?.counter === true) (counters ??= new Set()).add(col);
    for (const vb of w?.varbinds ?? []) {
      if (!vb.oid.startsWith(prefix)) continue;
      const value = fromVarbind(vb);
      if (value === undefined) continue;
      const index = vb.oid.slice(prefix.length);
      values.set(index, value);
      indexes.add(index);
    }
    columns.set(col, values);
  }
  return {
    indexes: sortIndexes(indexes),
    columns,
    ...(counters === undefined ? {} : { counters }),
  };
}

/** A metric's value times its scale, exactly (bigint beyond 2^53). */
function scaled(n: number | bigint, scale: number): number | bigint {
  if (scale === 1) return typeof n === 'bigint' ? narrow(n) : n;
  if (typeof n === 'bigint') return narrow(n * BigInt(scale));
  const r = n * scale;
  return Number.isSafeInteger(r) || !Number.isInteger(n) ? r : narrow(BigInt(n) * BigInt(scale));
}

/** The rate transform's hint for a counter metric evaluated with `trace` in context `c`. */
function counterHint(m: MetricRule, c: EvalContext, trace: CounterTrace): CounterHint {
  // No device counter read (a value computed from gauges): a decrease is a reset, not a wrap.
  const width = trace.width === 0 ? 64 : trace.width;
  const max = m.maxPerSecond === undefined ? undefined : asFloat(m.maxPerSecond(c));
  return max !== undefined && max > 0 && Number.isFinite(max)
    ? { width, scale: m.scale, maxPerSecond: max }
    : { width, scale: m.scale };
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
  const counterOids = new Set<string>();
  if (scalarOids.length > 0) {
    fetches++;
    try {
      const vbs = await session.get(scalarOids);
      for (const vb of vbs) {
        scalarValues.set(vb.oid, fromVarbind(vb));
        if (counterWidth(vb) !== undefined) counterOids.add(vb.oid);
      }
    } catch (e) {
      errors.push(e);
      failures.push(`scalars: ${describeError(e)}`);
    }
  }

  // Tables: each column walked once, whichever profiles and tables name it.
  const walks = new Map<string, Promise<WalkedColumn>>();
  const walkColumns = (oids: readonly string[]): Promise<Map<string, WalkedColumn>> => {
    const missing = oids.filter((o) => !walks.has(o));
    if (missing.length > 0) {
      const all = session.walkColumns(missing);
      for (const o of missing)
        walks.set(
          o,
          all.then((m) => walkedColumn(m.get(o) ?? [])),
        );
    }
    return Promise.all(
      oids.map(async (o) => [o, await (walks.get(o) as Promise<WalkedColumn>)] as const),
    ).then((entries) => new Map(entries));
  };
  const perProfile = await Promise.all(
    profiles.map(async (p) => {
      const tables = new Map<string, TableData>();
      const failed = new Set<string>();
      const scalars = new Map<string, Value>();
      let counterScalars: Set<string> | undefined;
      for (const [n, oid] of p.scalars) {
        scalars.set(n, scalarValues.get(oid));
        if (counterOids.has(oid)) (counterScalars ??= new Set()).add(n);
      }
      // A table whose `when` uses earlier tables is walked once they are in; the others at once.
      const pre: EvalContext = { tables, scalars, resource, interval, index: undefined };
      const done = new Map<string, Promise<void>>();
      for (const t of p.tables.values()) {
        const walk = async (): Promise<void> => {
          if (t.after.length > 0) await Promise.all(t.after.map((d) => done.get(d) ?? Promise.resolve()));
          if (t.when !== undefined && !truthy(t.when(pre))) return;
          fetches++;
          try {
            tables.set(t.name, tableData(t, await walkColumns([...t.columns.values()])));
          } catch (e) {
            errors.push(e);
            failed.add(t.name);
            failures.push(`${p.name}: table ${t.name}: ${describeError(e)}`);
          }
        };
        done.set(t.name, walk());
      }
      await Promise.all(done.values());
      return { profile: p, tables, failed, scalars, counterScalars };
    }),
  );
  if (fetches > 0 && errors.length === fetches) throw errors[0];

  const at = (options.now ?? Date.now)();
  const timestamp = at / 1000;
  const groups: MetricsGroup[] = [];
  const counters = new Map<MetricsGroup, Record<string, CounterHint>>();
  let partial = failures.length > 0;
  for (const { profile, tables, failed, scalars, counterScalars } of perProfile) {
    const trace: CounterTrace = { width: 0 };
    const base: EvalContext = {
      tables,
      scalars,
      resource,
      interval,
      index: undefined,
      trace,
      ...(counterScalars === undefined ? {} : { counterScalars }),
    };
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
        const dimensions: Dimension[] = [];
        for (const [name, f] of rule.dimensions) {
          const t = asText(f(c));
          if (t !== undefined && t !== '') dimensions.push({ dimension_name: name, dimension_value: t });
          else if (!rule.omitEmptyDimensions)
            dimensions.push({ dimension_name: name, dimension_value: NOT_SET });
        }
        const metrics: Metric[] = [];
        const hints: Record<string, CounterHint> = {};
        for (const m of rule.metrics) {
          trace.width = 0;
          const n = asNumber(m.value(c));
          if (n === undefined) {
            if (!m.optional) partial = true;
            continue;
          }
          metrics.push({
            metric_name: m.name,
            // Within 2^53 a number (what most consumers expect), beyond it a bigint (exact).
            metric_value: scaled(n, m.scale),
            metric_type: m.type,
            metric_creation_timestamp: timestamp,
          });
          if (m.type === 'counter') hints[m.name] = counterHint(m, c, trace);
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
  return { groups, status, failures, counters, scalars: scalarValues };
}
