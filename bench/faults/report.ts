/**
 * FAULTS.md, written from bench/results/faults.json: what the suite does, a summary table, and a
 * table per fault with its goal met or not. Nothing on the page is copied by hand.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import type { MachineInfo } from '../lib/report.js';
import type { FaultResult, ProcessFigures } from './harness.js';

export const FAULTS_MD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'FAULTS.md');
export const FAULTS_JSON = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'faults.json');

export interface FaultsFile {
  readonly machine: MachineInfo;
  /** The command of the last run. */
  readonly command: string;
  /** Wall time of the last run, s. */
  readonly seconds: number;
  readonly faults: Readonly<Record<string, FaultResult>>;
}

export async function readFaultsFile(file = FAULTS_JSON): Promise<FaultsFile | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as FaultsFile;
  } catch {
    return undefined;
  }
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => `\`${s.replace(/`/g, "'").slice(0, 140)}\``;
const n = (v: number | null | undefined): string =>
  v === null || v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US');

/** GitHub's anchor of a heading. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

function lineText(p: ProcessFigures, which: 'startLine' | 'endLine'): string {
  const l = p[which];
  return l === null ? 'none' : `+${l.at} s ${code(l.msg)}`;
}

/** The first process with a line, for the summary. */
function firstLogged(r: FaultResult, which: 'startLine' | 'endLine'): string {
  if (which === 'endLine' && r.logs.end === null) return 'n/a';
  if (which === 'startLine' && r.logs.start === null)
    return `n/a: ${r.silentStart ?? 'no process can log it'}`;
  const p = r.processes
    .filter((x) => x[which] !== null)
    .sort((a, b) => (a[which]?.at ?? 0) - (b[which]?.at ?? 0))[0];
  return p === undefined ? '**none**' : `${p.name} +${p[which]?.at} s ${code(p[which]?.msg ?? '')}`;
}

function codes(c: Readonly<Record<string, number>>): string {
  const parts = Object.entries(c).map(([k, v]) => `${k}×${v}`);
  return parts.length === 0 ? 'n/a' : parts.join(' ');
}

function recoveryText(r: FaultResult): string {
  if (r.recovery === null) return 'n/a';
  return r.recovery.seconds === null ? `not within ${r.settings.observeSeconds} s` : `${r.recovery.seconds}`;
}

function exitText(p: ProcessFigures): string {
  if (p.exit === null) return 'running';
  const how = p.exit.signal !== null ? p.exit.signal : `code ${String(p.exit.code)}`;
  const why = p.unexpectedExit ? ' **by itself**' : '';
  return `${how} at +${p.exit.at} s${why}`;
}

function stopText(p: ProcessFigures): string {
  if (p.stop === null) return p.signalled === null ? 'n/a' : `${p.signalled.signal} (fault)`;
  const how = p.stop.killed ? 'killed after the grace period' : `code ${String(p.stop.code)}`;
  return `${how} in ${p.stop.seconds} s`;
}

function faultSection(r: FaultResult): string {
  const g = r.groups;
  const s = r.settings;
  const out: string[] = [`### ${r.name}: ${r.title}`, '', r.what, ''];
  out.push(
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC: ${s.devices} devices x ${s.interfaces} interfaces every ` +
      `${s.intervalSeconds} s; fault ${r.timing['faultStart'] === r.timing['faultEnd'] ? 'instantaneous' : `held ${Math.round(((r.timing['faultEnd'] ?? 0) - (r.timing['faultStart'] ?? 0)) * 10) / 10} s`} ` +
      `after ${s.warmupSeconds} s of normal operation; run took ${n(r.timing['total'])} s. ` +
      `Goal ${r.goal.met ? '**met**' : '**not met**'}${r.goal.reasons.length === 0 ? '.' : `: ${r.goal.reasons.join('; ')}.`}`,
    '',
    ...(r.goal.met || r.inTheWay === undefined ? [] : [`What stands in the way: ${r.inTheWay}`, '']),
  );
  if (r.error !== null) out.push(`The run failed: ${code(r.error.split('\n')[0] ?? '')}`, '');
  out.push(
    table(
      ['measure', 'value'],
      [
        [
          'groups expected',
          g === null
            ? 'n/a'
            : `${n(g.expected)} (${n(g.published)} published + ${n(g.missed.missed)} polls that did not happen)`,
        ],
        ['delivered to VictoriaMetrics (distinct)', g === null ? 'n/a' : n(g.delivered)],
        ['duplicates in VictoriaMetrics', g === null ? 'n/a' : n(g.duplicates)],
        [
          'lost (VictoriaMetrics)',
          g === null
            ? 'n/a'
            : `${n(g.lost)}${g.extra > 0 ? ` (and ${n(g.extra)} delivered that no poller counted)` : ''}`,
        ],
        [
          'missed polls by group type',
          g === null || g.missed.missed === 0
            ? '0'
            : `${Object.entries(g.missed.byType)
                .map(([k, v]) => `${k} ${n(v)}`)
                .join(', ')} (e.g. ${(g.missed.examples ?? []).slice(0, 4).join('; ')})`,
        ],
        ['interface groups without rates (around the fault)', g === null ? 'n/a' : n(g.missed.withoutRates)],
        [
          'JSONL file: distinct / duplicates / lost / not groups',
          g?.jsonl === null || g?.jsonl === undefined
            ? 'n/a'
            : `${n(g.jsonl.distinct)} / ${n(g.jsonl.duplicates)} / ${n(g.jsonl.lost)} / ${n(g.jsonl.invalid + g.jsonl.foreign)}`,
        ],
        ['recovery (s after the end)', recoveryText(r)],
        ['every process up', r.allUp ? 'yes' : '**no**'],
        ['log line at start', firstLogged(r, 'startLine')],
        ['log line at end', firstLogged(r, 'endLine')],
      ],
    ),
    '',
  );
  out.push(
    table(
      [
        'process',
        'exit',
        'stop',
        'warn / error lines',
        'first line at start',
        'first line at end',
        '/healthz',
        '/readyz',
      ],
      r.processes.map((p) => [
        p.name,
        exitText(p),
        stopText(p),
        `${p.warnings} / ${p.errors}`,
        lineText(p, 'startLine'),
        r.logs.end === null ? 'n/a' : lineText(p, 'endLine'),
        codes(p.healthz),
        codes(p.readyz),
      ]),
    ),
    '',
  );
  if (r.notes.length > 0) out.push(...r.notes.map((x) => `- ${x.replace(/\n/g, ' ')}`), '');
  return out.join('\n');
}

export function renderFaults(file: FaultsFile, order: readonly string[]): string {
  const results = order.map((name) => file.faults[name]).filter((r): r is FaultResult => r !== undefined);
  const m = file.machine;
  const met = results.filter((r) => r.goal.met).length;
  const out: string[] = [
    '# Faults',
    '',
    'Every figure on this page is written by one command, from bench/results/faults.json:',
    '',
    '```',
    file.command,
    '```',
    '',
    `Last run on ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, ` +
      `${m.date.slice(0, 16).replace('T', ' ')} UTC; the run took ${Math.round(file.seconds / 60)} minutes. ` +
      'Each fault below says when it ran (`npm run faults -- NAME` runs one again and keeps the others).',
    '',
    'Each fault runs in a fresh deployment on loopback, the one of `npm run demo:distributed`: redis-server, ' +
      "the Kafka test broker (librdkafka's mock cluster through kcat, 3 brokers), victoria-metrics and the " +
      'SNMP simulator; discovery, enrichment, two polling nodes and one consumer, each a process of the built ' +
      'CLI; the consumer writes InfluxDB line protocol to VictoriaMetrics through an HTTP proxy ' +
      '(test/support/http-fault-proxy.ts) and every group to a JSONL file; the pollers reach the devices ' +
      'through a UDP proxy (test/support/snmp-fault-proxy.ts). Both proxies pass everything until a fault ' +
      'says otherwise. After a warm-up, the fault is held for FAULT_SECONDS, then undone, and the deployment ' +
      'is watched for FAULT_OBSERVE_SECONDS; then the producing stages are stopped with SIGTERM, a consumer ' +
      'drains what is left, and VictoriaMetrics and the JSONL file are counted.',
    '',
    '**Goal:** nothing lost in any fault shorter than the configured buffers, every process up, a clear ' +
      'log line as each fault begins and ends.',
    '',
    'How the figures are made:',
    '',
    '- **expected**: the groups the polling and enrichment nodes published (their ' +
      '`panoptes_polling_sent_total`, read from the line each prints when it stops, or its last scrape ' +
      'when it was killed) plus the polls that should ' +
      'have happened around the fault and left no group: for every group identity (type and tag set) seen ' +
      'before the fault, the due times from its last group before the window (one interval before the ' +
      "fault) to the window's end (one interval before the final stop), less the groups made for them " +
      '(a poll made late counts as made). Groups the fault silences on purpose (a broken ' +
      "device's data, a broken plugin's own group, a killed poller's heartbeat) are not expected.",
    '- **delivered**: distinct groups (type, tag set, timestamp) in VictoriaMetrics (`/api/v1/export`, raw ' +
      'samples, no deduplication); **duplicates**: copies beyond the first; **lost**: expected − delivered.',
    '- **recovery**: seconds after the fault ended until the consumer had no lag and both the publishing ' +
      'and the writing rate over the last interval were back to 80% of the rate before the fault (so at ' +
      'least the part of an interval it takes to see the rate).',
    '- **processes up**: no process exited without being told to. **log at start**: the first warning or ' +
      'error a process logged after the fault began that it had not logged before; **log at end**: the ' +
      'first line saying something came back (up again, reconnected, resumed, restored, ...) within 30 s ' +
      'of the end. `/healthz` and `/readyz` of every process were requested every second during the fault ' +
      "and after (status code × requests; 'none': no answer within 0.9 s).",
    '',
    `## Summary: goal met in ${met} of ${results.length}`,
    '',
    table(
      [
        'fault',
        'expected',
        'delivered',
        'duplicates',
        'lost',
        'recovery s',
        'processes up',
        'log at start',
        'log at end',
        'goal',
      ],
      results.map((r) => [
        `[${r.name}](#${slug(`${r.name}: ${r.title}`)})`,
        n(r.groups?.expected),
        n(r.groups?.delivered),
        n(r.groups?.duplicates),
        n(r.groups?.lost),
        recoveryText(r),
        r.allUp ? 'yes' : '**no**',
        r.logs.start === null ? 'n/a' : r.logs.start ? 'yes' : '**no**',
        r.logs.end === null ? 'n/a' : r.logs.end ? 'yes' : '**no**',
        r.goal.met ? '**met**' : '**not met**',
      ]),
    ),
    '',
    '## Faults',
    '',
    ...results.map(faultSection),
  ];
  return `${out.join('\n')}\n`;
}

/** Writes FAULTS.md from the results file; returns the faults it shows. */
export async function writeFaultsMd(
  order: readonly string[],
  resultsFile = FAULTS_JSON,
  target = FAULTS_MD,
): Promise<string[]> {
  const file = await readFaultsFile(resultsFile);
  if (file === undefined) throw new Error(`${resultsFile} is missing: run npm run faults first`);
  const known = [...order, ...Object.keys(file.faults).filter((k) => !order.includes(k))];
  const text = renderFaults(file, known);
  const config = (await resolveConfig(target)) ?? {};
  await writeFile(target, await format(text, { ...config, filepath: target }));
  return known.filter((k) => file.faults[k] !== undefined);
}
