/**
 * Secrets stay out of logs, /metrics and /readyz: `panoptes run` as a real process
 * at log level debug, on real services, with every secret the configuration can name:
 *
 * - Redis over TLS as an ACL user, the password from store.password_file;
 * - the InfluxDB token from consumers.influx.token_env, sent to vmauth, which refuses it and
 *   quotes it back in its answer (HTTP 400 `cannot find the provided auth token "Bearer ..."`),
 *   the kind of server that puts a credential into an error message;
 * - start failures that involve credentials: a wrong Redis password (file), a wrong password in
 *   store.url, and bus.sasl against the test broker, which has no SASL.
 *
 * Every secret is a fresh random string, searched for in everything the process printed and
 * served.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeTcpPort } from '../services/ports.js';
import { startKafka } from '../services/kafka.js';
import type { KafkaService } from '../services/kafka.js';
import { startRedis } from '../services/redis.js';
import type { RedisService } from '../services/redis.js';
import { makeTestPki } from '../services/tls-certs.js';
import type { TestPki } from '../services/tls-certs.js';
import { startVictoriaMetrics } from '../services/victoria-metrics.js';
import type { VictoriaMetricsService } from '../services/victoria-metrics.js';
import { startVmauth } from '../services/vmauth.js';
import type { VmauthService } from '../services/vmauth.js';
import { simulatedResources } from '../support/lab.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const SITE = 'sec';

const secret = (what: string): string => `${what}-${randomUUID()}`;
const REDIS_PASSWORD = secret('redis');
const DEFAULT_PASSWORD = secret('default');
const WRONG_REDIS_PASSWORD = secret('wrong-redis');
const URL_PASSWORD = secret('url');
const KAFKA_PASSWORD = secret('kafka');
const INFLUX_TOKEN = secret('influx');
const VMAUTH_TOKEN = secret('vmauth');
const SECRETS = [
  REDIS_PASSWORD,
  DEFAULT_PASSWORD,
  WRONG_REDIS_PASSWORD,
  URL_PASSWORD,
  KAFKA_PASSWORD,
  INFLUX_TOKEN,
  VMAUTH_TOKEN,
];

let dir: string;
let pki: TestPki;
let redis: RedisService;
let kafka: KafkaService;
let vm: VictoriaMetricsService;
let vmauth: VmauthService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-secrets-'));
  pki = await makeTestPki();
  [redis, kafka, vm] = await Promise.all([
    startRedis({
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert },
      users: [{ name: 'panoptes', password: REDIS_PASSWORD }],
      requirepass: DEFAULT_PASSWORD,
    }),
    startKafka(1),
    startVictoriaMetrics(),
  ]);
  vmauth = await startVmauth({ target: vm.url, token: VMAUTH_TOKEN });
  await writeFile(join(dir, 'redis.pass'), `${REDIS_PASSWORD}\n`);
  await writeFile(join(dir, 'wrong-redis.pass'), `${WRONG_REDIS_PASSWORD}\n`);
  await writeFile(join(dir, 'kafka.pass'), `${KAFKA_PASSWORD}\n`);
  await writeFile(
    join(dir, 'devices.json'),
    JSON.stringify({ resources: simulatedResources(2, SITE) }, null, 2),
  );
  await writeFile(
    join(dir, 'discovery.panoptes-plugin'),
    '[Core]\nName = discovery-json\nModule = builtin:discovery-json\n[main]\nexecute_frequency = 300\n' +
      '[options]\nfile = devices.json\n',
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([redis?.stop(), kafka?.stop(), vm?.stop(), vmauth?.stop()]);
  await pki?.remove();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A site file: Kafka and Redis (TLS, ACL user) and the InfluxDB consumer behind vmauth, plus `extra` lines. */
async function siteFile(name: string, options: { store?: string[]; bus?: string[] } = {}): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    [
      `site: ${SITE}`,
      'plugins: {directories: [.], rescan_seconds: 0}',
      'simulator: {devices: 2, interfaces: 2, health: false}',
      'bus:',
      '  type: kafka',
      `  brokers: [${kafka.brokers.join(', ')}]`,
      ...(options.bus ?? []).map((l) => `  ${l}`),
      'store:',
      '  type: redis',
      `  key_prefix: ${randomUUID()}`,
      `  tls: {ca_file: ${pki.caCert}}`,
      ...(options.store ?? [`url: ${redis.url}`, 'username: panoptes', 'password_file: redis.pass']).map(
        (l) => `  ${l}`,
      ),
      'polling: {enrichment_wait_seconds: 0}',
      'consumers:',
      `  influx: {url: "${vmauth.url}", token_env: PANOPTES_TEST_INFLUX_TOKEN, flush_interval_ms: 200}`,
      '',
    ].join('\n'),
  );
  return file;
}

interface Run {
  readonly code: number | null;
  readonly output: string;
  /** Bodies served while it ran. */
  readonly served: string;
}

/**
 * `panoptes run` from the sources at debug level; with `untilLog`, waits until its output
 * matches (or 90 s), reads /metrics, /healthz and /readyz, then stops it with SIGTERM; without,
 * waits for it to end by itself (a start that fails).
 */
async function runNode(config: string, untilLog?: RegExp): Promise<Run> {
  const port = await freeTcpPort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'run', '--config', config, '--metrics-port', String(port)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PANOPTES_LOG_LEVEL: 'debug', PANOPTES_TEST_INFLUX_TOKEN: INFLUX_TOKEN },
    },
  );
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let served = '';
  try {
    if (untilLog !== undefined) {
      const deadline = Date.now() + 90_000;
      while (!untilLog.test(output) && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(output, 'the node got that far').toMatch(untilLog);
      for (const path of ['/metrics', '/healthz', '/readyz']) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        served += `${path} ${res.status}\n${await res.text()}\n`;
      }
    }
  } finally {
    // Without untilLog the start is expected to fail: the process ends by itself.
    if (untilLog === undefined) await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  return { code: await exited, output, served };
}

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text.includes(s), `a secret (${s.split('-')[0]}) in:\n${text}`).toBe(false);
}

describe('secrets stay out of logs, /metrics and /readyz (panoptes run, debug level)', () => {
  it('a running node whose InfluxDB token is refused and quoted back by the server', async () => {
    const run = await runNode(await siteFile('site.yaml'), /InfluxDB refused a write/);
    expect(run.output).toMatch(/"level":20/); // debug lines were written
    expect(run.output).toContain('connected to Redis');
    // metrics.listen_host by default: loopback only.
    expect(run.output).toMatch(/"host":"127\.0\.0\.1","port":\d+,"msg":"serving \/metrics/);
    // The server quoted the token; what the node logged has it cut out.
    expect(run.output).toContain('cannot find the provided auth token \\"Bearer ***\\"');
    expect(run.served).toMatch(/\/metrics 200\n[^]*panoptes_up/);
    expectNoSecret(run.output);
    expectNoSecret(run.served);
  }, 180_000);

  it('a wrong Redis password (password_file) fails the start naming the address and user only', async () => {
    const run = await runNode(
      await siteFile('wrong-redis.yaml', {
        store: [`url: ${redis.url}`, 'username: panoptes', 'password_file: wrong-redis.pass'],
      }),
    );
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      `cannot connect to Redis at ${redis.url} as user panoptes: refused: WRONGPASS`,
    );
    expectNoSecret(run.output);
  }, 60_000);

  it('a wrong password in store.url: a warning, then a start failure with the URL redacted', async () => {
    const run = await runNode(
      await siteFile('url-password.yaml', {
        store: [`url: rediss://panoptes:${URL_PASSWORD}@127.0.0.1:${redis.port}`],
      }),
    );
    expect(run.code).toBe(1);
    expect(run.output).toContain('store.url holds the Redis password');
    expect(run.output).toContain(`rediss://panoptes:***@127.0.0.1:${redis.port}`);
    expectNoSecret(run.output);
  }, 60_000);

  it('bus.sasl against the test broker (no SASL): the start fails without the password', async () => {
    const run = await runNode(
      await siteFile('sasl.yaml', {
        bus: ['sasl: {mechanism: scram-sha-512, username: poller, password_file: kafka.pass}'],
      }),
    );
    expect(run.code).toBe(1);
    expect(run.output).toContain('does not support the requested API version');
    expectNoSecret(run.output);
  }, 90_000);
});
