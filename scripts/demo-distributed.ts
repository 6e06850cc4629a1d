/**
 * `npm run demo:distributed`: Panoptes-TS distributed on this machine. Starts redis-server, the
 * Kafka-protocol test broker (librdkafka's mock cluster through kcat, 3 brokers),
 * victoria-metrics and the SNMP simulator (20 devices x 24 interfaces) on loopback, then the
 * stages as separate processes: discovery, enrichment, two polling nodes and a consumer writing
 * to VictoriaMetrics. Prints where to look and runs until Ctrl-C (or DEMO_SECONDS).
 * Needs the Debian packages of `npm test` (scripts/install-test-deps.sh) and a build (npm run build).
 */
import { existsSync } from 'node:fs';
import { CLI, scrape, startCluster } from '../test/support/cluster.js';

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const devices = Number(process.env['DEMO_DEVICES'] ?? 20);
  process.stdout.write(
    'starting redis-server, the Kafka test broker, victoria-metrics and the simulator...\n',
  );
  const cluster = await startCluster({ devices, interfaces: 24, intervalSeconds: 10 });
  const stages = [
    await cluster.start('consumer'),
    await cluster.start('polling', 'polling-1'),
    await cluster.start('polling', 'polling-2'),
    await cluster.start('enrichment'),
    await cluster.start('discovery'),
  ];
  process.stdout.write(
    [
      '',
      `Panoptes-TS distributed demo: site ${cluster.site}, ${devices} simulated devices x 24 interfaces`,
      `  Kafka brokers      ${cluster.kafka.brokers.join(', ')}`,
      `  Redis              ${cluster.redis.url}`,
      `  VictoriaMetrics    ${cluster.vm.url}/vmui  (e.g. query interface_bits_in__gauge)`,
      `  SNMP simulator     127.0.0.1:${cluster.simulator.port} (udp)`,
      `  site config        ${cluster.config}`,
      ...stages.map(
        (s) =>
          `  ${s.name.padEnd(18)} pid ${s.child.pid ?? '?'}  http://127.0.0.1:${s.metricsPort}/metrics  /healthz`,
      ),
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  const seconds = Number(process.env['DEMO_SECONDS'] ?? 0);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (seconds > 0) setTimeout(resolve, seconds * 1000);
    const timer = setInterval(() => {
      void Promise.all(stages.filter((s) => s.role === 'polling').map((s) => scrape(s))).then((all) => {
        const sent = all.map((m) => m.get('panoptes_polling_sent_total') ?? 0);
        process.stdout.write(
          `${new Date().toISOString()} groups published by the pollers: ${sent.join(' + ')}\n`,
        );
      });
    }, 10_000);
    timer.unref();
  });
  process.stdout.write('stopping...\n');
  await cluster.stop();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
