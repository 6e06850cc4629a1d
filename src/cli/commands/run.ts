/**
 * `panoptes run --config FILE [--for SECONDS] [--out FILE.jsonl]`
 *
 * Runs the whole pipeline in this process (see src/stages/embedded.ts) until --for seconds have
 * passed or SIGINT/SIGTERM arrives, then stops cleanly: runs in flight finish, everything
 * published is written, and a summary line is printed. While it runs, a live status line on a
 * terminal (devices, polls/s, metrics/s, errors), or one plain line per status interval when
 * stdout is not a terminal. Logs (JSON, pino) go to stderr.
 *
 * Exit status: 0 after a clean stop; 1 when the configuration is invalid or a stage cannot start
 * (the message names file, line and key path); 2 usage error.
 */
import { isPanoptesError } from '../../errors.js';
import { createLogger } from '../../log.js';
import type { Logger } from '../../log.js';
import { loadSiteConfig } from '../../config/site-config.js';
import type { SiteConfig } from '../../config/site-config.js';
import { MetricsServer } from '../../stages/metrics-server.js';
import { NodeStartup, PanoptesNode } from '../../node/node.js';
import type { Role } from '../../node/node.js';
import type { PipelineSnapshot } from '../../node/node.js';
import { EXIT, processIo } from '../io.js';
import type { RunCliOptions } from '../args.js';
import type { CliIo } from '../io.js';

export interface RunIo extends CliIo {
  /** True: redraw one status line; false: print a line per status interval. */
  readonly tty: boolean;
  readonly logger: Logger;
}

function rate(
  now: PipelineSnapshot,
  before: PipelineSnapshot,
  pick: (s: PipelineSnapshot) => number,
): string {
  const seconds = (now.at - before.at) / 1000;
  return seconds > 0 ? ((pick(now) - pick(before)) / seconds).toFixed(1) : '0.0';
}

export function formatStatus(now: PipelineSnapshot, before: PipelineSnapshot): string {
  return (
    `devices ${now.devices}  polls/s ${rate(now, before, (s) => s.polls)}  ` +
    `metrics/s ${rate(now, before, (s) => s.metrics)}  errors ${now.errors} (timeouts ${now.timeouts})  ` +
    `groups ${now.groups}`
  );
}

/** Runs the pipeline until `signal` aborts or --for passes; returns the exit status. */
export async function runPipeline(options: RunCliOptions, signal: AbortSignal, io: RunIo): Promise<number> {
  let pipeline: PanoptesNode;
  let config: SiteConfig;
  let metrics: MetricsServer | undefined;
  const command = options.roles === undefined || options.roles.length !== 1 ? 'run' : options.roles[0];
  try {
    config = await loadSiteConfig(options.config);
  } catch (e) {
    if (!isPanoptesError(e)) throw e;
    io.err(`panoptes ${command}: ${e.message} [${e.code}]\n`);
    return e.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
  if (options.gnmi === true) {
    if (config.simulator === undefined) {
      io.err(
        `panoptes ${command}: --gnmi serves the simulator's devices over gNMI: ${config.file} has no simulator section\n`,
      );
      return EXIT.USAGE;
    }
    const gnmi = config.simulator.gnmi;
    config = {
      ...config,
      simulator: {
        ...config.simulator,
        gnmi: { enabled: true, port: gnmi?.port ?? 0, plugin_directories: gnmi?.plugin_directories ?? [] },
      },
    };
  }
  // Served from the start: while the node waits for Redis or Kafka, /readyz says what it waits for.
  const startup = new NodeStartup(io.logger);
  let node: PanoptesNode | undefined;
  try {
    if (options.metricsPort !== undefined) {
      metrics = await MetricsServer.start({
        port: options.metricsPort,
        host: config.metrics.listen_host,
        collect: () => node?.metrics() ?? [],
        // Liveness: this process answers. Dependencies are for /readyz: a node waiting for
        // Redis or Kafka to come back is working as it should and must not be restarted. The
        // one exception: an edge whose upstream has been unreachable past
        // federation.unreachable_after_seconds says so (it still polls and spools).
        health: () => node?.liveness(),
        dependencies: () => node?.dependencies() ?? startup.dependencies(),
      });
      io.logger.info(
        { host: config.metrics.listen_host, port: metrics.port },
        'serving /metrics, /healthz (liveness) and /readyz (dependencies)',
      );
    }
    pipeline = await PanoptesNode.start({
      config,
      logger: io.logger,
      signal,
      startup,
      ...(options.roles === undefined ? {} : { roles: options.roles }),
      ...(options.out === undefined ? {} : { out: options.out }),
    });
    node = pipeline;
  } catch (e) {
    await metrics?.close();
    if (signal.aborted) {
      io.err(`panoptes ${command}: stopped before it had started\n`);
      return EXIT.OK;
    }
    if (!isPanoptesError(e)) throw e;
    io.err(`panoptes ${command}: ${e.message} [${e.code}]\n`);
    return e.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
  if (pipeline.gnmiSimulator !== undefined)
    io.out(`gnmi: simulated devices streaming on ${pipeline.gnmiSimulator.address}\n`);
  if (pipeline.liveConsole !== undefined) io.out(`console: ${pipeline.liveConsole.url}\n`);
  else if (config.console?.port !== undefined && pipeline.roles.has('consumer'))
    io.out('console: not started (the log says why)\n');
  const first = pipeline.snapshot();
  let last = first;
  const every = io.tty ? 1000 : config.output.status_interval_seconds * 1000;
  const ticker = setInterval(() => {
    const now = pipeline.snapshot();
    const line = formatStatus(now, last);
    last = now;
    if (io.tty) io.out(`\r\u001b[2K${line}`);
    else io.out(`${new Date(now.at).toISOString()} ${line}\n`);
  }, every);

  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = options.for === undefined ? undefined : setTimeout(resolve, options.for * 1000);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  clearInterval(ticker);
  if (io.tty) io.out('\n');
  io.err(`panoptes ${command}: stopping (finishing runs in flight, flushing outputs)\n`);
  const graceMs = config.shutdown_grace_seconds * 1000;
  let graceTimer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    pipeline.stop().then(() => true),
    new Promise<false>((resolve) => {
      graceTimer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(graceTimer);
  await metrics?.close();
  if (!inTime) {
    io.logger.error(
      { shutdownGraceSeconds: config.shutdown_grace_seconds, dependencies: pipeline.dependencies() },
      'stopping took longer than shutdown_grace_seconds: exiting now; what is unfinished is abandoned ' +
        '(its offsets are not committed, so the next owner reads it again)',
    );
    io.err(
      `panoptes ${command}: stop did not finish within ${config.shutdown_grace_seconds} s (shutdown_grace_seconds); exiting\n`,
    );
    return EXIT.FAILED;
  }
  const end = pipeline.snapshot();
  io.out(
    `stopped after ${((end.at - first.at) / 1000).toFixed(1)} s: ${end.devices} devices, ${end.polls} polls, ` +
      `${end.groups} groups, ${end.metrics} metrics, ${end.errors} errors (${end.timeouts} timeouts), ` +
      `${end.written} lines written${end.dropped > 0 ? `, ${end.dropped} messages dropped by bus retention` : ''}\n`,
  );
  return EXIT.OK;
}

/**
 * The command: runs the pipeline (or the stages `roles`) with the process's signals and streams
 * until it stops; returns the exit status.
 */
export async function runCommand(roles: readonly Role[] | undefined, opts: RunCliOptions): Promise<number> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const logger = createLogger('panoptes', undefined, 2);
  try {
    const code = await runPipeline(
      { ...opts, ...(roles === undefined ? {} : { roles }) },
      controller.signal,
      { ...processIo, tty: process.stdout.isTTY, logger },
    );
    // Everything was flushed or abandoned on purpose: a client library still holding a socket
    // or timer (one waiting for a server that is down) must not keep the process alive.
    setTimeout(() => process.exit(code), 1000).unref();
    return code;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
