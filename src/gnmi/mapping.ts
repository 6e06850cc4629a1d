/**
 * gNMI path mappings: declarative YAML that turns streamed updates into metrics groups, in the
 * spirit of the SNMP profiles (no code per vendor). A mapping names what to subscribe to and, per
 * metrics group, the instance path it is built on, its dimensions and its metrics:
 *
 *   name: openconfig-interfaces
 *   subscriptions:
 *     - { path: /interfaces/interface/state/counters, mode: sample }
 *     - { path: /interfaces/interface/state, mode: sample }
 *   groups:
 *     - type: interface
 *       instance: /interfaces/interface[name=*]        # one group per interface
 *       dimensions:
 *         interface_name: { key: interface.name }      # a key of the instance path
 *         description: { leaf: state/description }     # a leaf under the instance
 *       metrics:
 *         bits_in: { leaf: state/counters/in-octets, type: counter, scale: 8 }
 *         oper_state: { leaf: state/oper-status, type: gauge, map: { UP: 1, DOWN: 2 } }
 *
 * GnmiGroups takes notifications as they stream (accept) and keeps, per instance, the newest
 * value of every leaf the group reads (its dimensions' and metrics'; other leaves are not kept);
 * collect() builds the groups of one sample interval from them (groups are emitted per
 * interval, not per update). Leaf paths are relative to the instance, element names
 * only (keys below the instance are not part of them); a JSON container value is flattened into
 * its leaves and RFC 7951 module prefixes (`openconfig-interfaces:in-octets`) are dropped.
 * Counters accept integers, and the decimal strings RFC 7951 uses for 64-bit integers, kept
 * exact (bigint beyond 2^53); `scale` multiplies them (8: bits from octets). A value a metric
 * cannot use (a string where a number is needed, a state the map does not name) is counted and
 * reported through `problem`, and the metric is left out of that group.
 */
import { z } from 'zod';
import { YamlFile } from '../config/yaml-document.js';
import type { ConfigIssue } from '../config/yaml-document.js';
import type { Dimension, Metric, MetricsGroup } from '../model/metrics-group.js';
import { METRICS_GROUP_SCHEMA_VERSION } from '../model/metrics-group.js';
import type { Resource } from '../model/resource.js';
import type { CounterHint } from '../streams/counter-rate.js';
import type { GnmiNotification } from './client.js';
import { parsePath, pathToString } from './path.js';
import type { GnmiPath } from './path.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const name = (): z.ZodString =>
  z.string({ error: 'must be a string' }).regex(NAME, { error: 'must match ^[A-Za-z_][A-Za-z0-9_]*$' });
const text = (): z.ZodString =>
  z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });

const gnmiPath = text().superRefine((p, ctx) => {
  try {
    parsePath(p);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
  }
});

const mappingSchema = z.strictObject({
  name: text(),
  description: z.string().optional(),
  /** Free: a place for YAML anchors the groups refer to (a table of speeds). */
  definitions: z.unknown().optional(),
  subscriptions: z
    .array(
      z.strictObject({
        path: gnmiPath,
        mode: z
          .enum(['sample', 'on_change', 'target_defined'], {
            error: 'must be sample, on_change or target_defined',
          })
          .default('sample'),
      }),
    )
    .min(1, { error: 'needs at least one subscription' }),
  groups: z
    .array(
      z.strictObject({
        type: name(),
        instance: gnmiPath,
        dimensions: z
          .record(
            name(),
            z.union(
              [
                z.strictObject({ key: text(), default: text().optional() }),
                z.strictObject({
                  leaf: text(),
                  identity: z.boolean({ error: 'must be true or false' }).optional(),
                  map: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
                  default: text().optional(),
                }),
                z.strictObject({ value: text() }),
              ],
              {
                error:
                  'must be { key: ELEMENT.KEY }, { leaf: PATH [, identity, map, default] } or { value: TEXT }',
              },
            ),
          )
          .default({}),
        metrics: z.record(
          name(),
          z
            .strictObject({
              leaf: text().optional(),
              sum: z.array(text()).min(2, { error: 'must name at least two leaves' }).optional(),
              mismatch: z.array(text()).length(2, { error: 'must name two leaves' }).optional(),
              type: z.enum(['counter', 'gauge'], { error: 'must be counter or gauge' }),
              scale: z.number({ error: 'must be a number' }).positive({ error: 'must be > 0' }).optional(),
              offset: z.number({ error: 'must be a number' }).optional(),
              map: z.record(z.string(), z.number({ error: 'must be a number' })).optional(),
            })
            .refine((m) => [m.leaf, m.sum, m.mismatch].filter((x) => x !== undefined).length === 1, {
              error: 'needs exactly one of leaf, sum and mismatch',
            })
            .refine((m) => m.type === 'gauge' || m.offset === undefined, {
              error: 'offset is for gauges (a counter keeps its zero)',
            }),
        ),
      }),
    )
    .min(1, { error: 'needs at least one group' }),
});

export interface MetricSpec {
  readonly name: string;
  /** The leaf, or the leaves whose values are added up (`sum`) or compared (`mismatch`). */
  readonly leaves: readonly string[];
  /** `mismatch`: 0 when the two leaves hold the same value, else 1 (Panoptes' oper_admin_state_mismatch). */
  readonly mismatch: boolean;
  readonly type: 'counter' | 'gauge';
  readonly scale: number;
  /** Added after scaling (gauges only: Celsius to Fahrenheit is scale 1.8, offset 32). */
  readonly offset: number;
  readonly map: ReadonlyMap<string, number> | undefined;
}

export interface GroupSpec {
  readonly type: string;
  readonly instance: GnmiPath;
  readonly dimensions: readonly (
    | {
        readonly name: string;
        readonly key: { readonly elem: string; readonly key: string };
        readonly default: string | undefined;
      }
    | {
        readonly name: string;
        readonly leaf: string;
        /** Drop a YANG identity's module prefix (`iana-if-type:ethernetCsmacd` -> `ethernetCsmacd`). */
        readonly identity: boolean;
        readonly map: ReadonlyMap<string, string> | undefined;
        /** The value when the leaf is absent; none: the dimension is left out. */
        readonly default: string | undefined;
      }
    | { readonly name: string; readonly value: string }
  )[];
  readonly metrics: readonly MetricSpec[];
}

export interface GnmiMapping {
  readonly name: string;
  readonly file: string;
  readonly subscriptions: readonly {
    readonly path: string;
    readonly mode: 'sample' | 'on_change' | 'target_defined';
  }[];
  readonly groups: readonly GroupSpec[];
}

/** A mapping file's text as a GnmiMapping; problems are reported as FILE:LINE:COLUMN: key.path: message. */
export function parseMapping(source: string, file: string): GnmiMapping {
  const yaml = YamlFile.parse(source, file, 'PROFILE_INVALID');
  const m = yaml.validate(mappingSchema);
  const issues: ConfigIssue[] = [];
  const groups: GroupSpec[] = [];
  for (const [gi, g] of m.groups.entries()) {
    const instance = parsePath(g.instance);
    const dimensions: GroupSpec['dimensions'][number][] = [];
    for (const [dName, d] of Object.entries(g.dimensions)) {
      if ('key' in d) {
        const [elem, key] = d.key.split('.');
        if (
          elem === undefined ||
          key === undefined ||
          !instance.elem.some((e) => e.name === elem && key in e.key)
        )
          issues.push(
            yaml.issue(
              ['groups', gi, 'dimensions', dName, 'key'],
              `the instance path ${g.instance} has no key ${d.key}`,
            ),
          );
        else dimensions.push({ name: dName, key: { elem, key }, default: d.default });
      } else if ('leaf' in d)
        dimensions.push({
          name: dName,
          leaf: leafName(d.leaf),
          identity: d.identity === true,
          map:
            d.map === undefined
              ? undefined
              : new Map(Object.entries(d.map).map(([k, v]) => [stripModule(k), String(v)])),
          default: d.default,
        });
      else dimensions.push({ name: dName, value: d.value });
    }
    groups.push({
      type: g.type,
      instance,
      dimensions,
      metrics: Object.entries(g.metrics).map(([mName, spec]) => ({
        name: mName,
        leaves: (spec.sum ?? spec.mismatch ?? [spec.leaf ?? '']).map(leafName),
        mismatch: spec.mismatch !== undefined,
        type: spec.type,
        scale: spec.scale ?? 1,
        offset: spec.offset ?? 0,
        map: spec.map === undefined ? undefined : new Map(Object.entries(spec.map)),
      })),
    });
  }
  if (issues.length > 0) throw yaml.error(issues);
  return { name: m.name, file, subscriptions: m.subscriptions, groups };
}

/** A relative leaf path as stored: element names joined by `/`, keys and module prefixes dropped. */
function leafName(path: string): string {
  return parsePath(path)
    .elem.map((e) => stripModule(e.name))
    .join('/');
}

const stripModule = (n: string): string => {
  const colon = n.indexOf(':');
  return colon < 0 ? n : n.slice(colon + 1);
};

/**
 * One instance of a group (an interface, a component): its key values and the newest value of
 * each leaf the group reads, in arrays indexed as the group's Compiled says (no map or object
 * per instance or leaf: a fleet holds hundreds of thousands of them).
 */
interface Instance {
  /** The instance path's key values, in Compiled.keyNames order. */
  readonly keyValues: readonly string[];
  /** Per read leaf: its newest value, undefined until one came. */
  readonly values: unknown[];
  /** Per read leaf: when its value was sampled, seconds since the epoch. */
  readonly ats: Float64Array;
  /** Updated since the last collect(). */
  fresh: boolean;
}

/** A group's instance pattern, its elements' keys as pairs (read once per update). */
interface Pattern {
  readonly elem: readonly { readonly name: string; readonly keys: readonly (readonly [string, string])[] }[];
}

/**
 * The relative leaf paths a group reads, as a tree of element names: an update's path and its
 * JSON container are walked down it, and what leads to no read leaf is not looked at.
 */
interface LeafTree {
  readonly children: Map<string, LeafTree>;
  /** The read leaf's index when one ends here. */
  leaf: number | undefined;
}

/** What GnmiGroups needs of a group spec, worked out once. */
interface Compiled {
  readonly pattern: Pattern;
  readonly tree: LeafTree;
  /** The read leaves' relative paths, by index. */
  readonly leaves: readonly string[];
  /** The instance path's keys as `elem.key`, in the order instances hold their values. */
  readonly keyNames: readonly string[];
  /** Per metric of the spec: its leaves' indexes. */
  readonly metricLeaves: readonly (readonly number[])[];
  /** Per dimension of the spec: its leaf's index, or its key's index, or -1. */
  readonly dimensionIndex: readonly number[];
}

function compilePattern(path: GnmiPath): Pattern {
  return { elem: path.elem.map((e) => ({ name: e.name, keys: Object.entries(e.key) })) };
}

function compile(g: GroupSpec): Compiled {
  const pattern = compilePattern(g.instance);
  const keyNames = pattern.elem.flatMap((e) => e.keys.map(([key]) => `${e.name}.${key}`));
  const leaves: string[] = [];
  const index = (leaf: string): number => {
    const at = leaves.indexOf(leaf);
    return at >= 0 ? at : leaves.push(leaf) - 1;
  };
  const dimensionIndex = g.dimensions.map((d) =>
    'leaf' in d ? index(d.leaf) : 'key' in d ? keyNames.indexOf(`${d.key.elem}.${d.key.key}`) : -1,
  );
  const metricLeaves = g.metrics.map((m) => m.leaves.map(index));
  const tree: LeafTree = { children: new Map(), leaf: undefined };
  leaves.forEach((leaf, i) => {
    let node = tree;
    for (const name of leaf.split('/')) {
      let child = node.children.get(name);
      if (child === undefined) node.children.set(name, (child = { children: new Map(), leaf: undefined }));
      node = child;
    }
    node.leaf = i;
  });
  return { pattern, tree, leaves, keyNames, metricLeaves, dimensionIndex };
}

/** The child of `node` named `name` (with or without a module prefix). */
function childOf(node: LeafTree, name: string): LeafTree | undefined {
  const child = node.children.get(name);
  if (child !== undefined || name.indexOf(':') < 0) return child;
  return node.children.get(stripModule(name));
}

/** The instance id of a full path under a pattern (its keys in order), or undefined when it is not under it. */
function instanceId(pattern: Pattern, path: GnmiPath): string | undefined {
  if (path.elem.length < pattern.elem.length) return undefined;
  let id = '';
  for (let k = 0; k < pattern.elem.length; k++) {
    const want = pattern.elem[k] as Pattern['elem'][number];
    const got = path.elem[k] as GnmiPath['elem'][number];
    if (got.name !== want.name && stripModule(got.name) !== want.name) return undefined;
    for (const [key, v] of want.keys) {
      const value = got.key[key];
      if (value === undefined || (v !== '*' && v !== value)) return undefined;
      id += `[${want.name}.${key}=${value}]`;
    }
  }
  return id;
}

/** The key values of a path known to be under the pattern, in Compiled.keyNames order. */
function instanceKeys(pattern: Pattern, path: GnmiPath): string[] {
  const values: string[] = [];
  pattern.elem.forEach((want, k) => {
    const got = path.elem[k] as GnmiPath['elem'][number];
    for (const [key] of want.keys) values.push(got.key[key] as string);
  });
  return values;
}

/** A JSON container (not a leaf list, not bytes). */
const isContainer = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

/** Keeps `value`, found at `node` of the group's leaf tree (a container: each read leaf below it). */
function store(instance: Instance, node: LeafTree, value: unknown, at: number): void {
  if (isContainer(value)) {
    for (const k in value) {
      const child = childOf(node, k);
      if (child !== undefined) store(instance, child, value[k], at);
    }
    return;
  }
  if (node.leaf === undefined || value === undefined) return;
  instance.values[node.leaf] = value;
  instance.ats[node.leaf] = at;
}

export interface GroupsStats {
  updates: number;
  /** Updates under no group's instance path. */
  unmatched: number;
  /** Values a metric could not use. */
  unusable: number;
}

export class GnmiGroups {
  readonly stats: GroupsStats = { updates: 0, unmatched: 0, unusable: 0 };
  /** Per group spec: instance id -> its leaves. */
  private readonly instances: Map<string, Instance>[];
  private readonly compiled: readonly Compiled[];

  constructor(
    readonly mapping: GnmiMapping,
    private readonly problem: (message: string) => void = () => undefined,
  ) {
    this.instances = mapping.groups.map(() => new Map<string, Instance>());
    this.compiled = mapping.groups.map(compile);
  }

  /**
   * Takes the updates of one notification: each instance under a group's instance path is
   * marked fresh and keeps the newest value of each leaf the group reads.
   */
  accept(n: GnmiNotification): void {
    const at = Number(n.timestampNs / 1000n) / 1e6;
    const groups = this.mapping.groups.length;
    for (const u of n.updates) {
      this.stats.updates++;
      let matched = false;
      for (let gi = 0; gi < groups; gi++) {
        const c = this.compiled[gi] as Compiled;
        const pattern = c.pattern;
        const id = instanceId(pattern, u.path);
        if (id === undefined) continue;
        matched = true;
        const table = this.instances[gi] as Map<string, Instance>;
        let instance = table.get(id);
        if (instance === undefined)
          table.set(
            id,
            (instance = {
              keyValues: instanceKeys(pattern, u.path),
              values: new Array<unknown>(c.leaves.length),
              ats: new Float64Array(c.leaves.length),
              fresh: true,
            }),
          );
        instance.fresh = true;
        // Down the leaf tree along the path below the instance.
        let node: LeafTree | undefined = c.tree;
        for (let k = pattern.elem.length; node !== undefined && k < u.path.elem.length; k++)
          node = childOf(node, (u.path.elem[k] as GnmiPath['elem'][number]).name);
        if (node !== undefined) store(instance, node, u.value, at);
      }
      if (!matched) this.stats.unmatched++;
    }
    for (const d of n.deletes) {
      for (let gi = 0; gi < groups; gi++) {
        const pattern = (this.compiled[gi] as Compiled).pattern;
        const id = instanceId(pattern, d);
        if (id !== undefined && d.elem.length === pattern.elem.length) this.instances[gi]?.delete(id);
      }
    }
  }

  /** Leaf values held across every instance (only the leaves the groups read are kept). */
  leavesHeld(): number {
    let n = 0;
    for (const table of this.instances)
      for (const i of table.values()) for (const v of i.values) if (v !== undefined) n++;
    return n;
  }

  /** Forgets every value (a new stream starts from its own initial values). */
  clear(): void {
    for (const table of this.instances) table.clear();
  }

  /**
   * The groups of one interval: one per instance with at least one usable metric (with
   * `fresh`, only instances updated since the last collect: a stalled stream repeats nothing).
   * `counters`, when given, receives each group's counter hints for the rate transform (64-bit
   * counters: gNMI carries uint64; `scale` as the mapping says).
   */
  collect(
    resource: Resource,
    nowSeconds: number,
    intervalSeconds: number,
    options: { fresh?: boolean; counters?: Map<MetricsGroup, Readonly<Record<string, CounterHint>>> } = {},
  ): MetricsGroup[] {
    const out: MetricsGroup[] = [];
    this.mapping.groups.forEach((g, gi) => {
      const c = this.compiled[gi] as Compiled;
      for (const instance of (this.instances[gi] as Map<string, Instance>).values()) {
        if (options.fresh === true && !instance.fresh) continue;
        const metrics: Metric[] = [];
        let hints: Record<string, CounterHint> | undefined;
        g.metrics.forEach((m, mi) => {
          const found = this.metricOf(m, c.metricLeaves[mi] as readonly number[], instance, g.type);
          if (found === undefined) return;
          metrics.push({
            metric_name: m.name,
            metric_value: found.value,
            metric_type: m.type,
            metric_creation_timestamp: found.at,
          });
          if (m.type === 'counter' && options.counters !== undefined) {
            hints ??= {};
            hints[m.name] =
              m.scale === 1 || !Number.isInteger(m.scale) ? { width: 64 } : { width: 64, scale: m.scale };
          }
        });
        if (metrics.length === 0) continue;
        const dimensions: Dimension[] = [];
        g.dimensions.forEach((d, di) => {
          const index = c.dimensionIndex[di] as number;
          let v: unknown;
          if ('key' in d) v = instance.keyValues[index] ?? d.default;
          else if ('value' in d) v = d.value;
          else {
            v = instance.values[index];
            if (typeof v === 'string' && (d.identity || d.map !== undefined)) v = stripModule(v);
            if (
              d.map !== undefined &&
              (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint')
            )
              v = d.map.get(String(v)) ?? v;
            v ??= d.default;
          }
          // A dimension is text: a scalar as written, anything else (a container) is left out.
          const textValue =
            typeof v === 'string'
              ? v
              : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean'
                ? String(v)
                : '';
          if (textValue !== '') dimensions.push({ dimension_name: d.name, dimension_value: textValue });
        });
        const group: MetricsGroup = {
          metrics_group_schema_version: METRICS_GROUP_SCHEMA_VERSION,
          metrics_group_type: g.type,
          metrics_group_interval: intervalSeconds,
          metrics_group_creation_timestamp: nowSeconds,
          resource,
          dimensions,
          metrics,
        };
        out.push(group);
        if (hints !== undefined) options.counters?.set(group, hints);
      }
    });
    if (options.fresh === true)
      for (const table of this.instances) for (const i of table.values()) i.fresh = false;
    return out;
  }

  /** A metric's value (the sum of its leaves, scaled) and when it was sampled (the newest leaf). */
  private metricOf(
    m: MetricSpec,
    leaves: readonly number[],
    instance: Instance,
    type: string,
  ): { value: number | bigint; at: number } | undefined {
    let total: number | bigint | undefined;
    let at = 0;
    if (m.mismatch) {
      const [a, b] = leaves as [number, number];
      const [va, vb] = [instance.values[a], instance.values[b]];
      if (va === undefined || vb === undefined) return undefined;
      const same = JSON.stringify(valueKey(va)) === JSON.stringify(valueKey(vb));
      return { value: same ? 0 : 1, at: Math.max(instance.ats[a] as number, instance.ats[b] as number) };
    }
    for (const [li, i] of leaves.entries()) {
      const raw = instance.values[i];
      if (raw === undefined) return undefined;
      const v = this.leafValue(m, m.leaves[li] as string, raw, type);
      if (v === undefined) return undefined;
      at = Math.max(at, instance.ats[i] as number);
      if (total === undefined) total = v;
      else if (typeof total === 'bigint' || typeof v === 'bigint') {
        if (!Number.isInteger(total) || !Number.isInteger(v)) total = Number(total) + Number(v);
        else total = BigInt(total) + BigInt(v);
      } else total += v;
    }
    if (total === undefined) return undefined;
    if (
      typeof total === 'bigint' &&
      total >= BigInt(Number.MIN_SAFE_INTEGER) &&
      total <= BigInt(Number.MAX_SAFE_INTEGER)
    )
      total = Number(total);
    return { value: this.scaled(m, total), at };
  }

  private leafValue(m: MetricSpec, leaf: string, raw: unknown, type: string): number | bigint | undefined {
    let v: number | bigint | undefined;
    if (m.map !== undefined && typeof raw === 'string') v = m.map.get(raw) ?? m.map.get(stripModule(raw));
    else if (typeof raw === 'number' && Number.isFinite(raw)) v = raw;
    else if (typeof raw === 'bigint') v = raw;
    else if (typeof raw === 'boolean') v = raw ? 1 : 0;
    else if (typeof raw === 'string' && /^-?\d+$/.test(raw)) {
      const b = BigInt(raw);
      v = b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    } else if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) v = Number(raw);
    if (v === undefined) {
      this.stats.unusable++;
      this.problem(
        `${this.mapping.name}: ${type}.${m.name} (${leaf}): cannot use ${JSON.stringify(typeof raw === 'bigint' ? raw.toString() : raw)}`,
      );
      return undefined;
    }
    return v;
  }

  private scaled(m: MetricSpec, v: number | bigint): number | bigint {
    if (m.scale === 1 && m.offset === 0) return v;
    if (
      m.offset === 0 &&
      Number.isInteger(m.scale) &&
      (typeof v === 'bigint' || (m.type === 'counter' && Number.isSafeInteger(v)))
    ) {
      const scaled = BigInt(v) * BigInt(m.scale);
      return scaled <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(scaled) : scaled;
    }
    return Number(v) * m.scale + m.offset;
  }
}

/** For messages: a mapping's group instance as text. */
export function describeInstance(g: GroupSpec): string {
  return `${g.type} at ${pathToString(g.instance)}`;
}

/** A leaf value comparable as JSON (bigints as text). */
const valueKey = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
