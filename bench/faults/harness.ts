/**
 * One fault run: a fresh deployment on loopback (test/support/cluster.ts: redis-server, the
 * Kafka-protocol test broker, victoria-metrics and the SNMP simulator; discovery, enrichment,
 * two polling nodes and a consumer writing InfluxDB line protocol to VictoriaMetrics and a JSONL
 * file, each stage a process of the built CLI), with a fault proxy in front of VictoriaMetrics
 * (test/support/http-fault-proxy.ts) and one in front of the simulator
 * (test/support/snmp-fault-proxy.ts), both passing everything until a fault says otherwise.
 *
 *   deploy -> warm-up -> fault (inject, hold, restore) -> observe -> finish -> count
 *
 * Every second each live process is asked for /metrics, /healthz and /readyz; its log lines
 * (JSON on stderr) are kept with their times. finish() stops the producing stages with SIGTERM
 * (their last line says how many groups they published), lets a consumer drain what is left,
 * then counts what VictoriaMetrics and the JSONL file hold (measure.ts). Every wait is bounded.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startCluster } from '../../test/support/cluster.js';
import type { Cluster, Stage, StageRole } from '../../test/support/cluster.js';
import { startHttpFaultProxy } from '../../test/support/http-fault-proxy.js';
import type { HttpFaultProxy } from '../../test/support/http-fault-proxy.js';
import { startSnmpFaultProxy } from '../../test/support/snmp-fault-proxy.js';
import type { SnmpFaultProxy } from '../../test/support/snmp-fault-proxy.js';
import {
  RECOVERY_PATTERN,
  firstLine,
  missedPolls,
  parseLogLine,
  recovery,
  tallyJsonl,
  tallyTsdb,
} from './measure.js';
import type {
  FoundLine,
  JsonlTally,
  LogLine,
  MissedPolls,
  TimelinePoint,
  TsdbGroup,
  TsdbTally,
} from './measure.js';

export interface FaultSettings {
  readonly devices: number;
  readonly interfaces: number;
  /** Polling interval of interface polling, device status and heartbeat, s. */
  readonly intervalSeconds: number;
  /** How long each fault lasts, s. */
  readonly faultSeconds: number;
  /** Normal operation before the fault, s (at least two intervals). */
  readonly warmupSeconds: number;
  /** Watched after the fault's end, s. */
  readonly observeSeconds: number;
  /** Kafka consumer group session timeout, ms. */
  readonly sessionTimeoutMs: number;
  /** The grace period a process has to exit after SIGTERM, s (an orchestrator's). */
  readonly graceSeconds: number;
  /** tsdb-slow: each request answered after this long, ms. */
  readonly tsdbDelayMs: number;
  /** device-slow: each answer of a broken device delayed this long, ms. */
  readonly deviceDelayMs: number;
  /** Devices broken by the device faults (sim-00001 on). */
  readonly brokenDevices: number;
}

function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a number >= 0, got ${JSON.stringify(text)}`);
  return n;
}

/** Settings from FAULT_* environment variables (README of bench/faults/run.ts). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): FaultSettings {
  const devices = envNumber(env, 'FAULT_DEVICES', 20);
  const intervalSeconds = envNumber(env, 'FAULT_INTERVAL', 10);
  return {
    devices,
    interfaces: envNumber(env, 'FAULT_INTERFACES', 24),
    intervalSeconds,
    faultSeconds: envNumber(env, 'FAULT_SECONDS', 30),
    warmupSeconds: envNumber(env, 'FAULT_WARMUP_SECONDS', Math.max(30, 3 * intervalSeconds)),
    observeSeconds: envNumber(env, 'FAULT_OBSERVE_SECONDS', Math.max(60, 6 * intervalSeconds)),
    sessionTimeoutMs: envNumber(env, 'FAULT_SESSION_TIMEOUT_MS', 6000),
    graceSeconds: envNumber(env, 'FAULT_GRACE_SECONDS', 30),
    tsdbDelayMs: envNumber(env, 'FAULT_TSDB_DELAY_MS', 10_000),
    deviceDelayMs: envNumber(env, 'FAULT_DEVICE_DELAY_MS', 5_000),
    brokenDevices: envNumber(env, 'FAULT_BROKEN_DEVICES', Math.max(1, Math.ceil(devices / 4))),
  };
}

export interface FaultDefinition {
  readonly name: string;
  readonly title: string;
  /** What is done to the deployment, for FAULTS.md. */
  readonly what: string;
  /** False for a fault that has no end to recover from (a poison record, a stop). Default true. */
  readonly hasEnd?: boolean;
  /** How long the fault is held, s (default settings.faultSeconds). */
  seconds?(settings: FaultSettings): number;
  /** How long to watch after its end, s (default settings.observeSeconds). */
  observe?(settings: FaultSettings): number;
  /** Before the stages start: plugin files, file systems. */
  setup?(run: FaultRun): Promise<void>;
  inject(run: FaultRun): Promise<void>;
  restore?(run: FaultRun): Promise<void>;
  /** Groups the fault itself silences (its broken devices, its broken plugin): not missed polls. */
  excluded?(group: TsdbGroup): boolean;
  /** The line that tells the fault began: default, a warning or error not logged before. */
  readonly startLine?: { readonly minLevel: number; readonly pattern?: RegExp };
  /** What keeps the goal out of reach when it is not met (FAULTS.md says so under the figures). */
  readonly inTheWay?: string;
  /** Why no process can log as this fault begins (its start line is then not required). */
  readonly silentStart?: string;
  /** The line that tells it ended: default, RECOVERY_PATTERN at info or above. */
  readonly endLine?: {
    readonly minLevel: number;
    readonly pattern?: RegExp;
    readonly from?: 'start' | 'end';
  };
  /** More reasons the goal is not met. */
  goal?(result: FaultResult): string[];
}

export interface StopResult {
  readonly seconds: number;
  readonly code: number | null;
  readonly signal: string | null;
  /** Still running after the grace period: killed. */
  readonly killed: boolean;
}

interface HealthSample {
  readonly t: number;
  readonly healthz: number | null;
  readonly readyz: number | null;
}

export interface StageRecord {
  readonly name: string;
  readonly role: StageRole;
  readonly stage: Stage;
  readonly startedAt: number;
  exit: { at: number; code: number | null; signal: string | null } | undefined;
  /** Signalled by the harness (a fault's kill, a stop): its exit is not its own doing. */
  signalled: { at: number; signal: string } | undefined;
  stop: StopResult | undefined;
  readonly exited: Promise<void>;
  readonly lines: LogLine[];
  linesDropped: number;
  /** The last /metrics values. */
  readonly last: Map<string, number>;
  /** Whether the last /metrics request of the sampler was answered. */
  answered: boolean;
  /** Groups published, from the line it printed when it stopped. */
  summaryGroups: number | undefined;
  readonly health: HealthSample[];
}

export interface ProcessFigures {
  readonly name: string;
  readonly role: StageRole;
  /** Seconds from the fault's start (negative: before). */
  readonly startedAt: number;
  readonly exit: { at: number; code: number | null; signal: string | null } | null;
  readonly signalled: { at: number; signal: string } | null;
  /** Exited without being told to. */
  readonly unexpectedExit: boolean;
  readonly stop: StopResult | null;
  readonly published: number | null;
  /** Warnings and errors from the fault's start to the end of the observation. */
  readonly warnings: number;
  readonly errors: number;
  readonly startLine: FoundLine | null;
  readonly endLine: FoundLine | null;
  /** Status codes of each request during the fault and after ('none': no answer). */
  readonly healthz: Readonly<Record<string, number>>;
  readonly readyz: Readonly<Record<string, number>>;
  /** readyz: first non-200 (s from the fault's start) and first 200 after it (s from the end). */
  readonly notReadyAfter: number | null;
  readonly readyAgainAfter: number | null;
}

export interface GroupFigures {
  /** Published by the pollers (acknowledged by Kafka) plus polls that should have happened. */
  readonly expected: number;
  readonly published: number;
  /** Polls that should have happened around the fault and left no group. */
  readonly missed: MissedPolls;
  /** Distinct groups in VictoriaMetrics. */
  readonly delivered: number;
  readonly duplicates: number;
  readonly lost: number;
  /** Groups delivered that no poller counted as published. */
  readonly extra: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly jsonl: (JsonlTally & { readonly lost: number }) | null;
}

export interface FaultResult {
  readonly name: string;
  readonly title: string;
  readonly what: string;
  /** Why no log line is expected as the fault begins. */
  readonly silentStart?: string;
  /** What keeps the goal out of reach, when it is not met. */
  readonly inTheWay?: string;
  readonly settings: FaultSettings;
  readonly date: string;
  /** Seconds: deployment ready, fault start/end, observation end, drained, total (from the run's start). */
  readonly timing: Readonly<Record<string, number | null>>;
  readonly groups: GroupFigures | null;
  readonly recovery: {
    readonly seconds: number | null;
    readonly baselinePublished: number;
    readonly baselineWritten: number;
  } | null;
  readonly processes: readonly ProcessFigures[];
  readonly allUp: boolean;
  readonly logs: { readonly start: boolean | null; readonly end: boolean | null };
  readonly notes: readonly string[];
  readonly goal: { readonly met: boolean; readonly reasons: readonly string[] };
  /** [s from fault start, published, written, jsonl, lag (-1: none), dead-lettered, write errors] */
  readonly timeline: readonly (readonly number[])[];
  readonly error: string | null;
}

const SENT = 'panoptes_polling_sent_total';
const HELD = 'panoptes_polling_resources';
const WRITTEN = 'panoptes_consumer_sent_total{consumer="influx"}';
const JSONL = 'panoptes_consumer_sent_total{consumer="jsonl"}';
const DEAD = 'panoptes_consumer_dropped_total{consumer="influx"}';
const WRITE_ERRORS = 'panoptes_consumer_errors_total{consumer="influx"}';
const LAG = 'panoptes_bus_consumer_lag';
const SUMMARY = /stopped after [\d.]+ s: \d+ devices, \d+ polls, (\d+) groups/;
const MAX_LINES = 50_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function get(url: string, timeoutMs: number): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

function parseMetrics(text: string, into: Map<string, number>): void {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const v = Number(line.slice(i + 1));
    if (i > 0 && Number.isFinite(v)) into.set(line.slice(0, i), v);
  }
}

function countCodes(values: readonly (number | null)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const k = v === null ? 'none' : String(v);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class FaultRun {
  readonly begin = Date.now();
  readonly logDir: string;
  readonly records = new Map<string, StageRecord>();
  readonly timeline: TimelinePoint[] = [];
  readonly notes: string[] = [];
  readonly marks: {
    ready?: number;
    faultStart?: number;
    faultEnd?: number;
    observeEnd?: number;
    finalStart?: number;
    drained?: number;
  } = {};
  private clusterValue: Cluster | undefined;
  private tsdbValue: HttpFaultProxy | undefined;
  private snmpValue: SnmpFaultProxy | undefined;
  private jsonlDirValue = '';
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  /** Synchronous last resorts when the process exits mid-run. */
  private readonly onExit: (() => void)[] = [];
  private samplerStop = false;
  private sampler: Promise<void> | undefined;
  private tsdbTally: TsdbTally | undefined;
  private jsonlTally: JsonlTally | undefined;
  private readonly exitHandler = (): void => {
    for (const r of this.records.values()) if (r.exit === undefined) r.stage.child.kill('SIGKILL');
    for (const f of this.onExit) f();
  };

  constructor(
    readonly fault: FaultDefinition,
    readonly settings: FaultSettings,
    private readonly progress: (text: string) => void = (t) => process.stderr.write(`${t}\n`),
    logRoot = join(tmpdir(), 'panoptes-faults'),
  ) {
    this.logDir = join(logRoot, fault.name);
    mkdirSync(this.logDir, { recursive: true });
    process.on('exit', this.exitHandler);
  }

  get cluster(): Cluster {
    if (this.clusterValue === undefined) throw new Error('the deployment is not started');
    return this.clusterValue;
  }

  /** The proxy the consumer writes to VictoriaMetrics through. */
  get tsdb(): HttpFaultProxy {
    if (this.tsdbValue === undefined) throw new Error('the deployment is not started');
    return this.tsdbValue;
  }

  /** The proxy the pollers reach the simulated devices through. */
  get snmp(): SnmpFaultProxy {
    if (this.snmpValue === undefined) throw new Error('the deployment is not started');
    return this.snmpValue;
  }

  /** The directory of the JSONL consumer's file (a fault may mount a file system on it in setup). */
  get jsonlDir(): string {
    return this.jsonlDirValue;
  }

  get jsonlFile(): string {
    return join(this.jsonlDirValue, 'metrics.jsonl');
  }

  say(text: string): void {
    this.progress(`[${this.fault.name} +${((Date.now() - this.begin) / 1000).toFixed(0)}s] ${text}`);
  }

  note(text: string): void {
    this.notes.push(text);
    this.say(text);
  }

  /** Runs at the end of the run, last registered first. */
  onCleanup(fn: () => Promise<void> | void, atExit?: () => void): void {
    this.cleanups.push(fn);
    if (atExit !== undefined) this.onExit.push(atExit);
  }

  record(name: string): StageRecord {
    const r = this.records.get(name);
    if (r === undefined) throw new Error(`no process named ${name}`);
    return r;
  }

  alive(role?: StageRole): StageRecord[] {
    return [...this.records.values()].filter(
      (r) => r.exit === undefined && (role === undefined || r.role === role),
    );
  }

  /** Starts a stage process and follows it (logs, exit, samples); resolves once /healthz answers. */
  async startStage(role: StageRole, name: string): Promise<StageRecord> {
    const stage = await this.cluster.start(role, name);
    const log: WriteStream = createWriteStream(join(this.logDir, `${name}.log`), { flags: 'a' });
    log.on('error', () => undefined);
    let resolveExited: () => void = () => undefined;
    const record: StageRecord = {
      name,
      role,
      stage,
      startedAt: Date.now(),
      exit: undefined,
      signalled: undefined,
      stop: undefined,
      exited: new Promise<void>((r) => (resolveExited = r)),
      lines: [],
      linesDropped: 0,
      last: new Map(),
      answered: false,
      summaryGroups: undefined,
      health: [],
    };
    const take = (text: string, stream: 'stdout' | 'stderr'): void => {
      const line = parseLogLine(text, stream, Date.now());
      if (line === undefined) return;
      if (line.level === 0) {
        const m = SUMMARY.exec(line.msg);
        if (m !== null) record.summaryGroups = Number(m[1]);
      }
      if (record.lines.length < MAX_LINES) record.lines.push(line);
      else record.linesDropped++;
    };
    for (const text of stage.output.split('\n')) take(text, text.startsWith('{') ? 'stderr' : 'stdout');
    log.write(stage.output);
    for (const stream of ['stdout', 'stderr'] as const) {
      let rest = '';
      stage.child[stream]?.on('data', (b: Buffer) => {
        const text = rest + b.toString();
        log.write(b);
        const parts = text.split('\n');
        rest = parts.pop() ?? '';
        for (const p of parts) take(p, stream);
      });
      stage.child[stream]?.on('end', () => {
        if (rest !== '') take(rest, stream);
        rest = '';
      });
    }
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
      record.exit = { at: Date.now(), code, signal };
      log.end();
      resolveExited();
      if (record.signalled === undefined) {
        this.note(`${name} exited by itself: code ${String(code)}, signal ${String(signal)}`);
      }
    };
    if (stage.child.exitCode !== null || stage.child.signalCode !== null) {
      onClose(stage.child.exitCode, stage.child.signalCode);
    } else {
      stage.child.once('close', onClose);
    }
    this.records.set(name, record);
    return record;
  }

  /** One /metrics request into record.last. */
  async scrapeStage(r: StageRecord): Promise<boolean> {
    const m = await get(`http://127.0.0.1:${r.stage.metricsPort}/metrics`, 900);
    if (m === undefined || m.status !== 200) return false;
    parseMetrics(m.text, r.last);
    return true;
  }

  /** A fault's kill: the exit is expected. A poller's count is read first (it is lost with it). */
  async kill(name: string, signal: NodeJS.Signals): Promise<void> {
    const r = this.record(name);
    if (r.exit !== undefined) return;
    if (signal === 'SIGKILL') await this.scrapeStage(r);
    r.signalled = { at: Date.now(), signal };
    r.stage.child.kill(signal);
    await Promise.race([r.exited, sleep(15_000)]);
  }

  /** SIGTERM, then SIGKILL after graceMs; how long it took and how it ended. */
  async stop(r: StageRecord, graceMs = this.settings.graceSeconds * 1000): Promise<StopResult> {
    if (r.stop !== undefined) return r.stop;
    const started = Date.now();
    if (r.exit === undefined) {
      r.signalled ??= { at: started, signal: 'SIGTERM' };
      r.stage.child.kill('SIGTERM');
    }
    let killed = false;
    const done = await Promise.race([r.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      killed = true;
      r.stage.child.kill('SIGKILL');
      await Promise.race([r.exited, sleep(10_000)]);
    }
    r.stop = {
      seconds: Math.round(((r.exit?.at ?? Date.now()) - started) / 100) / 10,
      code: r.exit?.code ?? null,
      signal: r.exit?.signal ?? null,
      killed,
    };
    return r.stop;
  }

  private async sampleStage(r: StageRecord, t: number): Promise<void> {
    const base = `http://127.0.0.1:${r.stage.metricsPort}`;
    const [m, h, y] = await Promise.all([
      get(`${base}/metrics`, 900),
      get(`${base}/healthz`, 900),
      get(`${base}/readyz`, 900),
    ]);
    r.answered = m !== undefined && m.status === 200;
    if (m !== undefined && m.status === 200) parseMetrics(m.text, r.last);
    if (r.exit === undefined) r.health.push({ t, healthz: h?.status ?? null, readyz: y?.status ?? null });
  }

  /** A counter summed over every process of a role ('producers': polling and enrichment nodes). */
  private sum(role: StageRole | 'producers', key: string): number {
    let n = 0;
    for (const r of this.records.values()) {
      if (role === 'producers' ? r.role !== 'polling' && r.role !== 'enrichment' : r.role !== role) continue;
      n += key === SENT && r.summaryGroups !== undefined ? r.summaryGroups : (r.last.get(key) ?? 0);
    }
    return n;
  }

  private point(t: number): TimelinePoint {
    const consumers = this.alive('consumer');
    const current = consumers[consumers.length - 1];
    return {
      t,
      published: this.sum('producers', SENT),
      written: this.sum('consumer', WRITTEN),
      jsonl: this.sum('consumer', JSONL),
      lag: current !== undefined && current.answered ? (current.last.get(LAG) ?? null) : null,
      deadLettered: this.sum('consumer', DEAD),
      writeErrors: this.sum('consumer', WRITE_ERRORS),
    };
  }

  private startSampler(): void {
    const deadline = Date.now() + 3_600_000;
    this.sampler = (async () => {
      while (!this.samplerStop && Date.now() < deadline) {
        const t = Date.now();
        await Promise.all(this.alive().map((r) => this.sampleStage(r, t)));
        this.timeline.push(this.point(t));
        await sleep(1000 - (Date.now() - t));
      }
    })();
  }

  private async rewriteConfig(): Promise<void> {
    const file = this.cluster.config;
    const config = parseYaml(await readFile(file, 'utf8')) as {
      snmp: Record<string, unknown>;
      consumers: { influx: Record<string, unknown>; jsonl?: string };
    };
    config.snmp['port'] = this.snmp.port;
    config.consumers.influx['url'] = this.tsdb.url;
    config.consumers.jsonl = this.jsonlFile;
    await writeFile(file, stringifyYaml(config));
  }

  private async deploy(): Promise<void> {
    const s = this.settings;
    this.say(
      `starting services (${s.devices} devices x ${s.interfaces} interfaces every ${s.intervalSeconds} s)`,
    );
    this.clusterValue = await startCluster({
      devices: s.devices,
      interfaces: s.interfaces,
      intervalSeconds: s.intervalSeconds,
      sessionTimeoutMs: s.sessionTimeoutMs,
    });
    const kafka = this.cluster.kafka.process;
    // A frozen broker left behind would never stop.
    this.onExit.push(() => kafka.signal('SIGCONT'));
    this.tsdbValue = await startHttpFaultProxy(this.cluster.vm.url);
    this.snmpValue = await startSnmpFaultProxy({ host: '127.0.0.1', port: this.cluster.simulator.port });
    this.jsonlDirValue = join(this.cluster.dir, 'jsonl');
    await mkdir(this.jsonlDirValue, { recursive: true });
    await this.fault.setup?.(this);
    await this.rewriteConfig();
    const stages: [StageRole, string][] = [
      ['consumer', 'consumer'],
      ['polling', 'polling-1'],
      ['polling', 'polling-2'],
      ['enrichment', 'enrichment'],
      ['discovery', 'discovery'],
    ];
    this.say(`starting ${stages.map(([, name]) => name).join(', ')}`);
    // All at once: a stage is ready once it joined its consumer group, and the test broker holds
    // a group's first join for 3 s and a later one for most of a session timeout (one after the
    // other took about 20 s).
    await Promise.all(stages.map(([role, name]) => this.startStage(role, name)));
    // Reports list the processes in this order, not in the order they became ready.
    for (const [, name] of stages) {
      const record = this.records.get(name);
      if (record === undefined) continue;
      this.records.delete(name);
      this.records.set(name, record);
    }
    const pollers = this.alive('polling');
    const deadline = Date.now() + 90_000;
    for (;;) {
      await Promise.all(pollers.map((p) => this.scrapeStage(p)));
      const held = pollers.map((p) => p.last.get(HELD) ?? 0);
      if (held.every((h) => h > 1) && held.reduce((a, b) => a + b, 0) >= s.devices + pollers.length) break;
      if (Date.now() > deadline) throw new Error(`the pollers hold ${held.join(' + ')} resources after 90 s`);
      await sleep(500);
    }
    this.marks.ready = Date.now();
  }

  /** Waits until the consumer has no lag and wrote nothing new for 3 s (at most 90 s). */
  private async waitDrained(): Promise<boolean> {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      await sleep(1000);
      const last = this.timeline.slice(-4);
      const first = last[0];
      if (last.length < 4 || first === undefined) continue;
      if (
        last.every((p) => p.lag === 0 && p.written === first.written && p.jsonl === first.jsonl) &&
        first.t > (this.marks.finalStart ?? 0)
      ) {
        return true;
      }
    }
    return false;
  }

  private async finish(): Promise<void> {
    this.marks.finalStart = Date.now();
    const producers = this.alive().filter((r) => r.role !== 'consumer');
    this.say(`stopping ${producers.map((r) => r.name).join(', ') || 'nothing'} (SIGTERM)`);
    await Promise.all(producers.map((r) => this.stop(r)));
    if (this.alive('consumer').length === 0) {
      this.say('no consumer left: starting consumer-drain to read what is left');
      await this.startStage('consumer', 'consumer-drain');
    }
    if (!(await this.waitDrained())) this.note('the consumer did not drain within 90 s');
    this.marks.drained = Date.now();
    await this.cluster.vm.flush();
    const series = await this.cluster.vm.exportSeries('{__name__=~".+"}');
    this.tsdbTally = tallyTsdb(series);
    try {
      this.jsonlTally = tallyJsonl(await readFile(this.jsonlFile, 'utf8'));
    } catch (e) {
      this.note(`the JSONL file could not be read: ${errorText(e)}`);
    }
    for (const r of this.alive()) await this.stop(r);
  }

  /** The whole run; never throws (a harness failure is the result's error). */
  async execute(): Promise<FaultResult> {
    const s = this.settings;
    let error: string | null = null;
    try {
      await this.deploy();
      this.startSampler();
      this.say(`warm-up ${s.warmupSeconds} s`);
      await sleep(s.warmupSeconds * 1000);
      const seconds = this.fault.seconds?.(s) ?? s.faultSeconds;
      this.marks.faultStart = Date.now();
      this.say(`fault: ${this.fault.title} (${seconds} s)`);
      await this.fault.inject(this);
      await sleep(this.marks.faultStart + seconds * 1000 - Date.now());
      this.marks.faultEnd = Date.now();
      if (this.fault.restore !== undefined) {
        this.say('fault ends');
        await this.fault.restore(this);
      }
      const observe = this.fault.observe?.(s) ?? s.observeSeconds;
      this.say(`observing ${observe} s`);
      await sleep(observe * 1000);
      this.marks.observeEnd = Date.now();
      await this.finish();
    } catch (e) {
      error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      this.say(`run failed: ${error}`);
    } finally {
      this.samplerStop = true;
      await this.sampler;
      await Promise.all(this.alive().map((r) => this.stop(r, 5000)));
      for (const fn of this.cleanups.reverse()) {
        try {
          await fn();
        } catch (e) {
          this.note(`cleanup failed: ${errorText(e)}`);
        }
      }
      await this.tsdbValue?.close();
      await this.snmpValue?.close();
      try {
        await this.clusterValue?.stop();
      } catch (e) {
        this.note(`stopping the services failed: ${errorText(e)}`);
      }
      process.off('exit', this.exitHandler);
    }
    return this.result(error);
  }

  /** Last resort when the run is interrupted: kill every process it started, unfreeze, unmount. */
  abort(): void {
    this.exitHandler();
  }

  private result(error: string | null): FaultResult {
    const s = this.settings;
    const f = this.fault;
    const intervalMs = s.intervalSeconds * 1000;
    const start = this.marks.faultStart ?? Date.now();
    const end = this.marks.faultEnd ?? start;
    const observeEnd = this.marks.observeEnd ?? Date.now();
    const rel = (t: number | undefined): number | null =>
      t === undefined ? null : Math.round((t - this.begin) / 100) / 10;
    const fromStart = (t: number): number => Math.round((t - start) / 100) / 10;

    let groups: GroupFigures | null = null;
    if (this.tsdbTally !== undefined && this.marks.finalStart !== undefined) {
      const tally = this.tsdbTally;
      const published = this.sum('producers', SENT);
      const missed = missedPolls(tally, {
        from: start - intervalMs,
        to: this.marks.finalStart - intervalMs,
        intervalMs,
        ...(f.excluded === undefined ? {} : { excluded: f.excluded.bind(f) }),
      });
      const j = this.jsonlTally;
      groups = {
        expected: published + missed.missed,
        published,
        missed,
        delivered: tally.distinct,
        duplicates: tally.duplicates,
        lost: Math.max(0, published - tally.distinct) + missed.missed,
        extra: Math.max(0, tally.distinct - published),
        byType: tally.byType,
        jsonl: j === undefined ? null : { ...j, lost: Math.max(0, published - j.distinct) + missed.missed },
      };
    }

    const rec =
      this.marks.faultEnd === undefined || f.hasEnd === false
        ? null
        : recovery(this.timeline, {
            faultEnd: end,
            until: observeEnd,
            intervalMs,
            baselineFrom: start - Math.min(2 * intervalMs, Math.max(intervalMs, s.warmupSeconds * 500)),
            baselineTo: start,
          });

    const startLine = f.startLine ?? { minLevel: 40 };
    const endLine = f.endLine ?? { minLevel: 30, pattern: RECOVERY_PATTERN };
    const startWindowEnd = Math.max(end, start + 15_000) + 5_000;
    const endFrom = endLine.from === 'start' ? start : end;
    const processes: ProcessFigures[] = [...this.records.values()].map((r) => {
      const ignore = new Set(r.lines.filter((l) => l.t < start && l.level >= 40).map((l) => l.msg));
      const during = r.lines.filter((l) => l.t >= start && l.t <= observeEnd);
      const health = r.health.filter((h) => h.t >= start && h.t <= observeEnd);
      const notReady = health.find((h) => h.readyz !== 200);
      const readyAgain =
        notReady === undefined
          ? undefined
          : health.find((h) => h.t >= Math.max(end, notReady.t) && h.readyz === 200);
      const published =
        r.role === 'polling' || r.role === 'enrichment'
          ? (r.summaryGroups ?? r.last.get(SENT) ?? null)
          : null;
      return {
        name: r.name,
        role: r.role,
        startedAt: fromStart(r.startedAt),
        exit: r.exit === undefined ? null : { ...r.exit, at: fromStart(r.exit.at) },
        signalled: r.signalled === undefined ? null : { ...r.signalled, at: fromStart(r.signalled.at) },
        unexpectedExit: r.exit !== undefined && r.signalled === undefined,
        stop: r.stop ?? null,
        published,
        warnings: during.filter((l) => l.level === 40).length,
        errors: during.filter((l) => l.level >= 50).length,
        startLine:
          firstLine(r.lines, {
            from: start,
            to: startWindowEnd,
            minLevel: startLine.minLevel,
            ignore,
            ...(startLine.pattern === undefined ? {} : { pattern: startLine.pattern }),
          }) ?? null,
        endLine:
          f.hasEnd === false && endLine.from !== 'start'
            ? null
            : (firstLine(r.lines, {
                from: endFrom,
                to: Math.max(endFrom + 30_000, end + 5_000),
                minLevel: endLine.minLevel,
                ...(endLine.pattern === undefined ? {} : { pattern: endLine.pattern }),
              }) ?? null),
        healthz: countCodes(health.map((h) => h.healthz)),
        readyz: countCodes(health.map((h) => h.readyz)),
        notReadyAfter: notReady === undefined ? null : fromStart(notReady.t),
        readyAgainAfter: readyAgain === undefined ? null : Math.round((readyAgain.t - end) / 100) / 10,
      };
    });
    const allUp = processes.every((p) => !p.unexpectedExit);
    const logs = {
      start: f.silentStart !== undefined ? null : processes.some((p) => p.startLine !== null),
      end: f.hasEnd === false && endLine.from !== 'start' ? null : processes.some((p) => p.endLine !== null),
    };

    const partial: FaultResult = {
      name: f.name,
      title: f.title,
      what: f.what,
      ...(f.silentStart === undefined ? {} : { silentStart: f.silentStart }),
      ...(f.inTheWay === undefined ? {} : { inTheWay: f.inTheWay }),
      settings: s,
      date: new Date(this.begin).toISOString(),
      timing: {
        ready: rel(this.marks.ready),
        faultStart: rel(this.marks.faultStart),
        faultEnd: rel(this.marks.faultEnd),
        observeEnd: rel(this.marks.observeEnd),
        drained: rel(this.marks.drained),
        total: rel(Date.now()),
      },
      groups,
      recovery: rec,
      processes,
      allUp,
      logs,
      notes: [
        ...this.notes,
        ...(this.tsdbValue === undefined ? [] : [`TSDB proxy: ${JSON.stringify(this.tsdbValue.stats)}`]),
        ...(this.snmpValue === undefined ? [] : [`SNMP proxy: ${JSON.stringify(this.snmpValue.stats)}`]),
      ],
      goal: { met: false, reasons: [] },
      timeline: this.timeline.map((p) => [
        fromStart(p.t),
        p.published,
        p.written,
        p.jsonl,
        p.lag ?? -1,
        p.deadLettered,
        p.writeErrors,
      ]),
      error,
    };
    const reasons: string[] = [];
    if (error !== null) reasons.push('the run failed');
    if (groups === null) reasons.push('nothing counted');
    else {
      if (groups.lost > 0) {
        const notPolled = groups.missed.missed;
        const afterPublish = groups.lost - notPolled;
        reasons.push(
          `${groups.lost} groups lost in VictoriaMetrics (${notPolled} polls not made, ` +
            `${afterPublish} published groups missing)`,
        );
      }
      if (groups.jsonl === null) reasons.push('no JSONL file');
      else if (groups.jsonl.lost > 0) reasons.push(`${groups.jsonl.lost} groups lost in the JSONL file`);
    }
    if (!allUp) {
      reasons.push(
        `exited by itself: ${processes
          .filter((p) => p.unexpectedExit)
          .map((p) => p.name)
          .join(', ')}`,
      );
    }
    if (logs.start === false) reasons.push('no log line as the fault began');
    if (logs.end === false) reasons.push('no log line as the fault ended');
    reasons.push(...(f.goal?.(partial) ?? []));
    return { ...partial, goal: { met: reasons.length === 0, reasons } };
  }
}

/** Unmounts `dir` synchronously (for exit handlers). */
export function unmountNow(dir: string): void {
  spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
}
