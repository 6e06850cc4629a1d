/**
 * What a fault run counts, as pure functions of what it collected:
 *
 * - TSDB groups: every series VictoriaMetrics exported. The InfluxDB consumer writes one point
 *   per metrics group, `<group type>,<tags> <metric>__<kind>=...,... <ms>`, which VictoriaMetrics
 *   stores as one series per field named `<group type>_<metric>__<kind>`. A group is therefore
 *   (group type, tag set, timestamp); its copies are the samples one of its series holds at that
 *   timestamp (VictoriaMetrics keeps identical samples unless deduplication is configured).
 * - JSONL groups: one line per group; (type, resource, dimensions, creation timestamp).
 * - Missed polls: for each group identity (type and tags) seen before the fault and published
 *   every interval, the polls that should have happened in a window but left no group: the due
 *   times from its last group before the window to the window's end, less the groups made.
 * - Recovery: when, after the fault ended, the consumer has no lag and both the pollers'
 *   publishing rate and the consumer's writing rate over the last interval are back to 80% of
 *   what they were before the fault.
 * - Logs: the first relevant line of each process around the fault's start and end.
 */

export interface ExportedSeriesLike {
  readonly metric: Readonly<Record<string, string>>;
  readonly timestamps: readonly number[];
}

/** The group types of the lab's plugins (and the probe plugin of the plugin faults). */
export const KNOWN_GROUP_TYPES: readonly string[] = ['interface', 'status', 'device', 'heartbeat', 'probe'];

/** The group type of a series name `<type>_<metric>__<kind>`: a known type, else the first word. */
export function groupTypeOf(name: string, known: readonly string[] = KNOWN_GROUP_TYPES): string {
  for (const type of known) if (name.startsWith(`${type}_`)) return type;
  const i = name.indexOf('_');
  return i < 0 ? name : name.slice(0, i);
}

export interface TsdbGroup {
  readonly type: string;
  /** type{sorted tags} */
  readonly identity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ts: number;
  /** Copies stored (the most any of its series holds at this timestamp). */
  raw: number;
  /** An interface group with its rate gauges (bits_in__gauge). */
  hasRate: boolean;
}

export interface TsdbTally {
  /** Distinct groups. */
  readonly distinct: number;
  /** Copies stored, duplicates included. */
  readonly raw: number;
  readonly duplicates: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly groups: ReadonlyMap<string, TsdbGroup>;
}

export function tallyTsdb(series: readonly ExportedSeriesLike[], known = KNOWN_GROUP_TYPES): TsdbTally {
  const groups = new Map<string, TsdbGroup>();
  for (const s of series) {
    const name = s.metric['__name__'] ?? '';
    const type = groupTypeOf(name, known);
    const field = name.slice(type.length + 1);
    const labels: Record<string, string> = {};
    for (const key of Object.keys(s.metric).sort()) {
      if (key !== '__name__') labels[key] = s.metric[key] ?? '';
    }
    const identity = `${type}{${Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    const copies = new Map<number, number>();
    for (const ts of s.timestamps) copies.set(ts, (copies.get(ts) ?? 0) + 1);
    for (const [ts, n] of copies) {
      const key = `${identity}@${ts}`;
      let g = groups.get(key);
      if (g === undefined) {
        g = { type, identity, labels, ts, raw: 0, hasRate: false };
        groups.set(key, g);
      }
      g.raw = Math.max(g.raw, n);
      if (field === 'bits_in__gauge') g.hasRate = true;
    }
  }
  let raw = 0;
  const byType: Record<string, number> = {};
  for (const g of groups.values()) {
    raw += g.raw;
    byType[g.type] = (byType[g.type] ?? 0) + 1;
  }
  return { distinct: groups.size, raw, duplicates: raw - groups.size, byType, groups };
}

export interface MissedPolls {
  /** Polls that left no group. */
  readonly missed: number;
  readonly byType: Readonly<Record<string, number>>;
  /** Identities followed (seen before the window, every interval, not excluded). */
  readonly identities: number;
  /** Identities excluded as expected to stop (their device or plugin was the fault). */
  readonly excluded: number;
  /** Interface groups in the window without their rate gauges. */
  readonly withoutRates: number;
  /** A few identities with missed polls: `type resource_id [plugin]: n`. */
  readonly examples: readonly string[];
}

export interface MissedPollOptions {
  /** Window, epoch ms. */
  readonly from: number;
  readonly to: number;
  readonly intervalMs: number;
  /** Identities whose silence the fault explains. */
  readonly excluded?: (group: TsdbGroup) => boolean;
}

export function missedPolls(tally: TsdbTally, options: MissedPollOptions): MissedPolls {
  const { from, to, intervalMs } = options;
  const byIdentity = new Map<string, { first: TsdbGroup; ts: number[] }>();
  for (const g of tally.groups.values()) {
    let e = byIdentity.get(g.identity);
    if (e === undefined) byIdentity.set(g.identity, (e = { first: g, ts: [] }));
    e.ts.push(g.ts);
  }
  let missed = 0;
  let identities = 0;
  let excluded = 0;
  let withoutRates = 0;
  const byType: Record<string, number> = {};
  const examples: string[] = [];
  for (const { first, ts } of byIdentity.values()) {
    ts.sort((a, b) => a - b);
    const before = ts.filter((t) => t < from);
    if (before.length === 0) continue; // appeared during or after the fault
    // Only identities polled every interval (not, e.g., the status of an hourly enrichment run).
    let cadence = Infinity;
    for (let i = 1; i < ts.length; i++) {
      const gap = (ts[i] as number) - (ts[i - 1] as number);
      if (gap >= 0.5 * intervalMs) cadence = Math.min(cadence, gap);
    }
    if (cadence > 1.5 * intervalMs) continue;
    if (options.excluded?.(first) === true) {
      excluded++;
      continue;
    }
    identities++;
    // Due times after the last group before the window, up to its end, against the groups
    // made for them: a poll made late (a status group stamped when its run timed out, a run
    // that waited for a guard) still counts as made; only a deficit is a missed poll.
    const last = before[before.length - 1] as number;
    const due = Math.floor((to - last) / intervalMs);
    const made = ts.filter((t) => t > last && t <= to + intervalMs / 2).length;
    const n = Math.max(0, due - made);
    if (n > 0) {
      missed += n;
      byType[first.type] = (byType[first.type] ?? 0) + n;
      if (examples.length < 8) {
        const l = first.labels;
        const what = l['interface_name'] ?? l['plugin'];
        examples.push(
          `${first.type} ${l['resource_id'] ?? '?'}${what === undefined ? '' : ` ${what}`}: ${n}`,
        );
      }
    }
  }
  for (const g of tally.groups.values()) {
    if (g.type === 'interface' && g.ts >= from && g.ts <= to && !g.hasRate) {
      if (options.excluded?.(g) !== true) withoutRates++;
    }
  }
  return { missed, byType, identities, excluded, withoutRates, examples };
}

export interface JsonlTally {
  readonly lines: number;
  readonly distinct: number;
  readonly duplicates: number;
  /** Lines that are not JSON (cut lines, poison records copied as they came). */
  readonly invalid: number;
  /** JSON lines that are not metrics groups. */
  readonly foreign: number;
  /** The longest line, bytes. */
  readonly longest: number;
}

interface GroupLike {
  metrics_group_type?: unknown;
  metrics_group_creation_timestamp?: unknown;
  resource?: { resource_id?: unknown };
  dimensions?: { dimension_name?: unknown; dimension_value?: unknown }[];
}

export function tallyJsonl(text: string): JsonlTally {
  const seen = new Set<string>();
  let lines = 0;
  let invalid = 0;
  let foreign = 0;
  let longest = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines++;
    longest = Math.max(longest, Buffer.byteLength(line));
    let g: GroupLike;
    try {
      g = JSON.parse(line) as GroupLike;
    } catch {
      invalid++;
      continue;
    }
    if (
      typeof g !== 'object' ||
      g === null ||
      typeof g.metrics_group_type !== 'string' ||
      typeof g.metrics_group_creation_timestamp !== 'number' ||
      typeof g.resource?.resource_id !== 'string' ||
      !Array.isArray(g.dimensions)
    ) {
      foreign++;
      continue;
    }
    const dims = g.dimensions
      .map((d) => `${String(d.dimension_name)}=${String(d.dimension_value)}`)
      .sort()
      .join(',');
    seen.add(
      `${g.metrics_group_type}|${g.resource.resource_id}|${dims}|${Math.round(g.metrics_group_creation_timestamp * 1000)}`,
    );
  }
  const groups = lines - invalid - foreign;
  return { lines, distinct: seen.size, duplicates: groups - seen.size, invalid, foreign, longest };
}

/** Cumulative figures of the whole deployment, sampled every second. */
export interface TimelinePoint {
  /** Epoch ms. */
  readonly t: number;
  /** Groups the polling and enrichment nodes published (acknowledged by Kafka), every process summed. */
  readonly published: number;
  /** Points the InfluxDB consumer wrote, every consumer process summed. */
  readonly written: number;
  /** Lines the JSONL consumer wrote. */
  readonly jsonl: number;
  /** The consumer's lag (messages), null when it did not answer. */
  readonly lag: number | null;
  readonly deadLettered: number;
  readonly writeErrors: number;
}

type Cumulative = 'published' | 'written' | 'jsonl';

/** The value of a cumulative figure at time t (the last sample at or before it). */
export function valueAt(points: readonly TimelinePoint[], field: Cumulative, t: number): number {
  let v = 0;
  for (const p of points) {
    if (p.t > t) break;
    v = p[field];
  }
  return v;
}

function rate(points: readonly TimelinePoint[], field: Cumulative, from: number, to: number): number {
  return to > from ? (valueAt(points, field, to) - valueAt(points, field, from)) / ((to - from) / 1000) : 0;
}

export interface RecoveryOptions {
  readonly faultEnd: number;
  /** Last moment to look at. */
  readonly until: number;
  readonly intervalMs: number;
  /** Normal rates are measured over this window (before the fault). */
  readonly baselineFrom: number;
  readonly baselineTo: number;
}

export interface Recovery {
  /** Seconds after the fault's end, null when not recovered by `until`. */
  readonly seconds: number | null;
  /** Groups per second before the fault. */
  readonly baselinePublished: number;
  readonly baselineWritten: number;
}

export function recovery(points: readonly TimelinePoint[], o: RecoveryOptions): Recovery {
  const baselinePublished = rate(points, 'published', o.baselineFrom, o.baselineTo);
  const baselineWritten = rate(points, 'written', o.baselineFrom, o.baselineTo);
  for (const p of points) {
    if (p.t < o.faultEnd || p.t > o.until) continue;
    if (p.lag !== 0) continue;
    const from = p.t - o.intervalMs;
    if (rate(points, 'written', from, p.t) < 0.8 * baselineWritten) continue;
    if (rate(points, 'published', from, p.t) < 0.8 * baselinePublished) continue;
    return { seconds: Math.round((p.t - o.faultEnd) / 100) / 10, baselinePublished, baselineWritten };
  }
  return { seconds: null, baselinePublished, baselineWritten };
}

export interface LogLine {
  /** Epoch ms (the line's own time when it has one). */
  readonly t: number;
  /** pino levels: 30 info, 40 warn, 50 error, 60 fatal; 0 for status lines on stdout. */
  readonly level: number;
  readonly msg: string;
}

export interface FoundLine {
  /** Seconds from the reference moment. */
  readonly at: number;
  readonly level: number;
  readonly msg: string;
}

/** Lines that say something came back. */
export const RECOVERY_PATTERN =
  /up again|recover|restor|reconnect|resum|caught up|back (?:up|online|to)|again\b|reached|node running|consumer started/i;

export interface FindOptions {
  readonly from: number;
  readonly to: number;
  readonly minLevel: number;
  readonly pattern?: RegExp;
  /** Messages already logged before the fault: noise, not news. */
  readonly ignore?: ReadonlySet<string>;
}

/** The first line within [from, to] of at least minLevel, matching pattern, not ignored. */
export function firstLine(lines: readonly LogLine[], o: FindOptions): FoundLine | undefined {
  for (const l of lines) {
    if (l.t < o.from || l.t > o.to || l.level < o.minLevel) continue;
    if (o.ignore?.has(l.msg) === true) continue;
    if (o.pattern !== undefined && !o.pattern.test(l.msg)) continue;
    return { at: Math.round((l.t - o.from) / 100) / 10, level: l.level, msg: l.msg };
  }
  return undefined;
}

/** A JSON log line (pino) or a text line as LogLine; `now` when it carries no time. */
export function parseLogLine(text: string, stream: 'stdout' | 'stderr', now: number): LogLine | undefined {
  const line = text.trim();
  if (line === '') return undefined;
  if (line.startsWith('{')) {
    try {
      const j = JSON.parse(line) as { level?: unknown; time?: unknown; msg?: unknown; err?: unknown };
      if (typeof j.level === 'number') {
        const e = j.err as { message?: unknown } | string | undefined | null;
        const detail = typeof e === 'string' ? e : typeof e?.message === 'string' ? e.message : undefined;
        const err = detail === undefined ? '' : `: ${detail}`;
        return {
          t: typeof j.time === 'number' ? j.time : now,
          level: j.level,
          msg: `${typeof j.msg === 'string' ? j.msg : ''}${err}`.slice(0, 300),
        };
      }
    } catch {
      // not JSON after all
    }
  }
  if (stream === 'stdout') return { t: now, level: 0, msg: line.slice(0, 300) };
  // Text on stderr: the CLI's own lines (stopping, usage) or a crash.
  const level = /error|fail|exception|unhandled|fatal|ENOSPC|at .*\(.*:\d+:\d+\)/i.test(line) ? 50 : 30;
  return { t: now, level, msg: line.slice(0, 300) };
}
