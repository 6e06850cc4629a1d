/**
 * The faults of `npm run faults`, each run in a fresh deployment (harness.ts). A fault injects
 * something at its start, holds it for FAULT_SECONDS and undoes it at its end; it names the
 * groups it silences on purpose (a broken device's, a broken plugin's), which are then not
 * counted as missed polls.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { syntheticCommunity } from '../../src/sim/synthetic.js';
import {
  fillFileSystem,
  kcatProduce,
  mountTmpfs,
  startRedisOnPort,
  unmountTmpfs,
} from '../../test/support/fault-services.js';
import type { SnmpFaultAction } from '../../test/support/snmp-fault-proxy.js';
import { unmountNow } from './harness.js';
import type { FaultDefinition, FaultResult, FaultRun } from './harness.js';
import type { TsdbGroup } from './measure.js';

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Starts a stage again after a kill; a failure to start is a finding, not a harness failure. */
async function restart(run: FaultRun, role: 'consumer' | 'polling', name: string): Promise<void> {
  try {
    await run.startStage(role, name);
  } catch (e) {
    run.note(`${name} could not be started again: ${errorText(e).split('\n')[0] ?? ''}`);
  }
}

const redis: FaultDefinition = {
  name: 'redis',
  title: 'Redis stopped',
  what:
    'redis-server is killed (SIGKILL) and started again on the same port after the fault, empty ' +
    '(no persistence): enrichment, locks, last-run keys and counter checkpoints are gone.',
  async inject(run) {
    await run.cluster.redis.process.kill('SIGKILL');
  },
  async restore(run) {
    const proc = await startRedisOnPort(run.cluster.redis.port);
    run.onCleanup(() => proc.stop());
  },
};

const kafka: FaultDefinition = {
  name: 'kafka',
  title: 'Kafka unreachable',
  what:
    "The Kafka test broker's process (librdkafka's mock cluster in kcat, 3 brokers) is frozen " +
    '(SIGSTOP) and resumed (SIGCONT): connections stay open, nothing answers, no data is lost. The ' +
    "producers are idempotent, but the test broker stores a batch retried after a timeout again (Kafka's " +
    "brokers drop it by its sequence number), so duplicates here are the test broker's.",
  inject(run) {
    run.cluster.kafka.process.signal('SIGSTOP');
    return Promise.resolve();
  },
  restore(run) {
    run.cluster.kafka.process.signal('SIGCONT');
    return Promise.resolve();
  },
};

const tsdbDown: FaultDefinition = {
  name: 'tsdb-down',
  title: 'TSDB stopped',
  what: 'victoria-metrics is stopped (SIGTERM) and started again on the same port and data directory.',
  async inject(run) {
    await run.cluster.vm.pause();
  },
  async restore(run) {
    await run.cluster.vm.resume();
  },
};

function proxyFault(
  name: string,
  title: string,
  what: string,
  mode: '503' | '400' | 'slow',
): FaultDefinition {
  return {
    name,
    title,
    what,
    inject(run) {
      run.tsdb.setMode(mode, { delayMs: run.settings.tsdbDelayMs });
      return Promise.resolve();
    },
    restore(run) {
      run.tsdb.setMode('pass');
      return Promise.resolve();
    },
  };
}

const tsdb503 = proxyFault(
  'tsdb-503',
  'TSDB answering 503',
  'The HTTP proxy in front of victoria-metrics answers every write with 503 Service Unavailable.',
  '503',
);

const tsdbSlow: FaultDefinition = {
  ...proxyFault(
    'tsdb-slow',
    'TSDB answering slowly',
    'The HTTP proxy in front of victoria-metrics holds every request FAULT_TSDB_DELAY_MS (10 s) before ' +
      'forwarding it, also when the consumer gave up waiting (the server still stores it).',
    'slow',
  ),
};

const tsdb400 = proxyFault(
  'tsdb-400',
  'TSDB answering 400',
  'The HTTP proxy in front of victoria-metrics answers every write with 400 Bad Request, as a server ' +
    'refusing every body (a server-side fault, the records are fine).',
  '400',
);

const consumerKill: FaultDefinition = {
  name: 'consumer-kill',
  title: 'Consumer killed',
  what: 'The consumer process is killed (SIGKILL) and a new one started at the end of the fault.',
  async inject(run) {
    await run.kill('consumer', 'SIGKILL');
  },
  async restore(run) {
    await restart(run, 'consumer', 'consumer-2');
  },
  silentStart:
    'a process killed with SIGKILL cannot log, and no other stage depends on the consumer; the ' +
    'process supervisor (systemd, Kubernetes) reports the exit, and the new consumer logs where it resumes',
};

const pollerKill: FaultDefinition = {
  name: 'poller-kill',
  title: 'Polling node killed',
  what:
    'polling-1 is killed (SIGKILL); polling-2 should take its devices over after the session timeout. ' +
    'A new polling node joins at the end of the fault.',
  async inject(run) {
    await run.kill('polling-1', 'SIGKILL');
  },
  async restore(run) {
    await restart(run, 'polling', 'polling-3');
  },
  // The killed node's own resource (its heartbeat group and that plugin's status group) stops
  // with it. Which poller resource was the killed node's is not known here, so every poller's
  // own groups are left out of the missed polls (they still count as published and delivered).
  excluded: (g) => g.type === 'heartbeat' || g.labels['resource_type'] === 'heartbeat',
  // The survivor says so when it is given the killed node's partitions.
  startLine: { minLevel: 30, pattern: /partitions assigned/ },
  inTheWay:
    "the killed node's devices are not polled until the consumer group notices it is gone (the session " +
    'timeout, FAULT_SESSION_TIMEOUT_MS) and hands its partitions over; the new owner then runs each ' +
    'overdue plugin at once, for the slot just passed. Polls due earlier in that window are not made: ' +
    'with a 10 s interval about one per device, none when the interval is longer than the takeover (the ' +
    'first line of polling-2 at start gives its time). A shorter `bus.session_timeout_ms` shortens it, at ' +
    'the price of more rebalances on a busy network.',
};

/** Poison records: what each is and where it goes. */
interface Poison {
  readonly topic: 'resources' | 'processed';
  readonly key: string;
  readonly what: string;
  readonly body: () => string;
}

const TEN_MB = 10 * 1024 * 1024;

function poisonRecords(site: string): Poison[] {
  const now = Date.now() / 1000;
  const resource = (id: string, metadata: Record<string, string>): Record<string, unknown> => ({
    resource_id: id,
    resource_site: site,
    resource_endpoint: '127.0.0.1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'simulated',
    resource_creation_plugin: 'discovery-json',
    resource_creation_timestamp: now,
    resource_metadata: metadata,
  });
  const group = (dimension: string): Record<string, unknown> => ({
    metrics_group_schema_version: '0.2',
    metrics_group_type: 'interface',
    metrics_group_interval: 10,
    metrics_group_creation_timestamp: now,
    resource: resource('poison-device', {}),
    dimensions: [{ dimension_name: 'interface_name', dimension_value: dimension }],
    metrics: [
      { metric_name: 'mtu', metric_value: 1500, metric_type: 'gauge', metric_creation_timestamp: now },
    ],
  });
  const pad = (n: number): string => 'x'.repeat(n);
  return [
    {
      topic: 'resources',
      key: 'poison-json',
      what: 'invalid JSON',
      body: () => '{"resource_id": "poison-json", ',
    },
    {
      topic: 'resources',
      key: 'poison-schema',
      what: 'schema-invalid resource',
      body: () => JSON.stringify({ resource_id: 'poison-schema', resource_class: 42 }),
    },
    {
      topic: 'resources',
      key: syntheticCommunity(2),
      what: `schema-invalid record under a live device's key (${syntheticCommunity(2)})`,
      body: () => JSON.stringify({ resource_id: syntheticCommunity(2), hello: 'world' }),
    },
    {
      topic: 'resources',
      key: 'poison-big',
      what: '10 MB resource (10 MB metadata value)',
      body: () =>
        JSON.stringify(resource('poison-big', { snmp_community: 'poison-big', padding: pad(TEN_MB) })),
    },
    { topic: 'processed', key: 'poison-json', what: 'invalid JSON', body: () => '{"metrics_group_type": ' },
    {
      topic: 'processed',
      key: 'poison-schema',
      what: 'schema-invalid metrics group',
      body: () => JSON.stringify({ metrics_group_type: 'interface', metrics: 'none' }),
    },
    {
      topic: 'processed',
      key: 'poison-big',
      what: '10 MB metrics group (10 MB dimension value)',
      body: () => JSON.stringify(group(pad(TEN_MB))),
    },
  ];
}

function poisonFault(forceLarge: boolean): FaultDefinition {
  return {
    name: 'poison',
    title: 'Poison records',
    what:
      'Records produced with kcat to `<site>-resources` and `<site>-processed`: invalid JSON, schema-invalid, ' +
      "schema-invalid under a live device's key (resources), and a 10 MB record (first with kcat's defaults, " +
      'then with message.max.bytes raised if that was refused). They stay in the topics.',
    hasEnd: false,
    inTheWay:
      'the test broker keeps a bounded log per partition: the forced 10 MB record pushes the records ' +
      'around it out of its partition, so readers at those offsets get "offset out of range" and start ' +
      'again from the earliest record left; groups published there meanwhile are gone from the broker ' +
      'before anyone could read them. A Kafka cluster refuses a record above `message.max.bytes` (1 MB ' +
      'by default), as the first attempt shows, and drops records only by retention.',
    async inject(run) {
      const site = run.cluster.site;
      for (const [i, p] of poisonRecords(site).entries()) {
        const topic = `${site}-${p.topic}`;
        const file = join(run.cluster.dir, `poison-${i}.bin`);
        await writeFile(file, p.body());
        let r = await kcatProduce(run.cluster.kafka.brokers, topic, p.key, file);
        let how = 'kcat defaults';
        if (forceLarge && r.code !== 0 && /too large/i.test(r.stderr)) {
          run.note(`${topic} ${p.what}: refused by kcat's defaults: ${r.stderr.trim().split('\n')[0] ?? ''}`);
          r = await kcatProduce(run.cluster.kafka.brokers, topic, p.key, file, [
            '-X',
            'message.max.bytes=20000000',
          ]);
          how = 'message.max.bytes=20000000';
        }
        run.note(
          `${topic} ${p.what}: ${r.code === 0 ? 'produced' : `not produced (kcat exit ${String(r.code)}: ${r.stderr.trim().split('\n')[0] ?? ''})`} ` +
            `with ${how} in ${r.ms} ms`,
        );
        await rm(file, { force: true });
      }
    },
    goal(result: FaultResult) {
      const j = result.groups?.jsonl;
      const reasons: string[] = [];
      if (j !== null && j !== undefined && j.invalid + j.foreign > 0)
        reasons.push(`${j.invalid + j.foreign} poison records copied into the JSONL file`);
      return reasons;
    },
  };
}

const poison = poisonFault(true);

/**
 * The poison records a Kafka cluster with its default limits takes: the 10 MB records are refused
 * at the producer (message.max.bytes), not forced into the test broker's bounded partition log.
 */
export const poisonWithinBrokerLimits = poisonFault(false);

function brokenDevices(run: FaultRun): Set<string> {
  return new Set(Array.from({ length: run.settings.brokenDevices }, (_, k) => syntheticCommunity(k + 1)));
}

function deviceFault(
  name: string,
  title: string,
  what: string,
  action: (run: FaultRun) => SnmpFaultAction,
): FaultDefinition {
  let broken = new Set<string>();
  return {
    name,
    title,
    what,
    inject(run) {
      broken = brokenDevices(run);
      const a = action(run);
      run.snmp.setRule((community) => (broken.has(community) ? a : 'pass'));
      run.note(`broken devices: ${[...broken].join(', ')}`);
      return Promise.resolve();
    },
    restore(run) {
      run.snmp.setRule(undefined);
      return Promise.resolve();
    },
    // A broken device has no data; its status groups (polling_status) are still expected.
    excluded: (g: TsdbGroup) => g.type !== 'status' && broken.has(g.labels['resource_id'] ?? ''),
  };
}

const deviceGarbage = deviceFault(
  'device-garbage',
  'Devices answering garbage',
  'The UDP proxy in front of the simulator cuts and corrupts every answer of FAULT_BROKEN_DEVICES devices ' +
    '(a quarter: 5 of 20); the others answer normally.',
  () => 'garbage',
);

const deviceSlow = deviceFault(
  'device-slow',
  'Devices answering far too slowly',
  'The UDP proxy in front of the simulator delays every answer of FAULT_BROKEN_DEVICES devices (5 of 20) by ' +
    'FAULT_DEVICE_DELAY_MS (5 s; the SNMP timeout is 1 s, 1 retry); the others answer normally.',
  (run) => ({ delayMs: run.settings.deviceDelayMs }),
);

/**
 * A polling plugin for every network device that publishes a `probe` group, and misbehaves while
 * the file fault-probe.flag beside it says how: `throw`, `hang` (three times its timeout, ignoring
 * the abort signal) or `never` (a promise that never settles).
 */
const PROBE_MODULE = `const { existsSync, readFileSync } = await import('node:fs');
const FLAG = new URL('./fault-probe.flag', import.meta.url);

export default class FaultProbePlugin {
  async poll(ctx, resource) {
    const mode = existsSync(FLAG) ? readFileSync(FLAG, 'utf8').trim() : '';
    if (mode === 'throw') throw new Error('fault probe: failing on purpose');
    if (mode === 'hang') await new Promise((r) => setTimeout(r, 3000 * ctx.config.timeoutSeconds));
    if (mode === 'never') await new Promise(() => undefined);
    const t = Date.now() / 1000;
    return [
      {
        metrics_group_schema_version: '0.2',
        metrics_group_type: 'probe',
        metrics_group_interval: ctx.config.executeFrequencySeconds,
        metrics_group_creation_timestamp: t,
        resource,
        dimensions: [],
        metrics: [{ metric_name: 'value', metric_value: 1, metric_type: 'gauge', metric_creation_timestamp: t }],
      },
    ];
  }
}
`;

function pluginFault(
  name: string,
  title: string,
  what: string,
  mode: 'throw' | 'hang' | 'never',
): FaultDefinition {
  const flag = (run: FaultRun): string => join(run.cluster.dir, 'plugins', 'fault-probe.flag');
  return {
    name,
    title,
    what,
    async setup(run) {
      const every = run.settings.intervalSeconds;
      const dir = join(run.cluster.dir, 'plugins');
      await writeFile(join(dir, 'fault-probe.mjs'), PROBE_MODULE);
      await writeFile(
        join(dir, 'fault-probe.panoptes-plugin'),
        [
          '[Core]',
          'Name = fault-probe',
          'Module = fault-probe.mjs',
          '[main]',
          `execute_frequency = ${every}`,
          `timeout = ${Math.max(1, Math.floor(every / 2))}`,
          "resource_filter = resource_class = 'network'",
          '',
        ].join('\n'),
      );
    },
    async inject(run) {
      await writeFile(flag(run), mode);
    },
    async restore(run) {
      await rm(flag(run), { force: true });
    },
    // The probe's own groups stop; its status groups go on (failed runs have one).
    excluded: (g) => g.type === 'probe',
  };
}

const pluginThrows = pluginFault(
  'plugin-throws',
  'Plugin throwing',
  'A polling plugin (fault-probe, every device, every interval, timeout half of it) throws on every run.',
  'throw',
);
const pluginHangs = pluginFault(
  'plugin-hangs',
  'Plugin hanging past its timeout',
  'The fault-probe plugin takes three times its timeout on every run, ignoring the abort signal.',
  'hang',
);
const pluginNever = pluginFault(
  'plugin-never',
  'Plugin never resolving',
  "The fault-probe plugin's runs return a promise that never settles.",
  'never',
);

let fillers: string[] = [];

const diskFull: FaultDefinition = {
  name: 'disk-full',
  title: "JSONL consumer's disk full",
  what:
    "The JSONL file is on a 256 MB tmpfs; at the fault's start the rest of it is filled (fallocate), at " +
    'its end the filler is removed.',
  async setup(run) {
    const dir = run.jsonlDir;
    await mountTmpfs(dir, 256);
    run.onCleanup(
      () => unmountTmpfs(dir),
      () => unmountNow(dir),
    );
  },
  async inject(run) {
    fillers = await fillFileSystem(run.jsonlDir);
    run.note(`filled ${run.jsonlDir} with ${fillers.length} file(s)`);
  },
  async restore() {
    for (const f of fillers) await rm(f, { force: true });
    fillers = [];
  },
};

const sigterm: FaultDefinition = {
  name: 'sigterm',
  title: 'SIGTERM under full load',
  what:
    'Every process (discovery, enrichment, both pollers, the consumer) gets SIGTERM at once while polling; ' +
    'each must exit with status 0 within the grace period (FAULT_GRACE_SECONDS, 30 s). A new consumer ' +
    'then reads what was left, and nothing published may be lost.',
  hasEnd: false,
  seconds: () => 0,
  observe: () => 0,
  startLine: { minLevel: 30, pattern: /stopping/i },
  endLine: { minLevel: 0, pattern: /stopped after/, from: 'start' },
  async inject(run) {
    const all = run.alive();
    const results = await Promise.all(all.map((r) => run.stop(r)));
    for (const [i, r] of all.entries()) {
      const s = results[i];
      if (s !== undefined) {
        run.note(
          `${r.name}: ${s.killed ? `still running after ${run.settings.graceSeconds} s: killed` : `exited in ${s.seconds} s`}, ` +
            `code ${String(s.code)}${s.signal === null ? '' : `, signal ${s.signal}`}`,
        );
      }
    }
  },
  goal(result) {
    return result.processes
      .filter((p) => p.stop !== null && p.name !== 'consumer-drain')
      .filter((p) => p.stop?.killed === true || p.stop?.code !== 0)
      .map((p) =>
        p.stop?.killed === true
          ? `${p.name} did not exit within ${result.settings.graceSeconds} s`
          : `${p.name} exited with ${String(p.stop?.code)}`,
      );
  },
};

export const FAULTS: readonly FaultDefinition[] = [
  redis,
  kafka,
  tsdbDown,
  tsdb503,
  tsdbSlow,
  tsdb400,
  consumerKill,
  pollerKill,
  poison,
  deviceGarbage,
  deviceSlow,
  pluginThrows,
  pluginHangs,
  pluginNever,
  diskFull,
  sigterm,
];

export function faultNamed(name: string): FaultDefinition | undefined {
  return FAULTS.find((f) => f.name === name);
}
