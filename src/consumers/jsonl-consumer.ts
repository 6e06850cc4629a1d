/**
 * The JSONL file consumer: every metrics group on `<site>-processed` becomes one line of a file,
 * exactly as published (Panoptes schema 0.2 JSON; Counter64 values keep every digit, since the
 * text is written as it came). The file is appended to, so restarts do not lose earlier lines.
 *
 * Every record is validated before it is written: one that is not JSON or not a valid metrics
 * group is not written; it goes to the dead-letter topic when one is given (else it is logged
 * and counted). The records of a batch are written with one write call and committed after it.
 * A write that fails (disk full, file system read-only) is undone to the last complete line
 * (the file is truncated back, so no partial line remains), `jsonl` goes down in /readyz, and
 * the batch is retried with back-off until the disk takes it: nothing is skipped. stop() waits
 * for the write in flight and closes the file.
 */
import { open, mkdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BusMessage, MessageBus, Subscription } from '../bus/bus.js';
import { PanoptesError, errorMessage } from '../errors.js';
import { silentLogger } from '../log.js';
import type { Logger } from '../log.js';
import { readMetricsGroupMessage } from './decode.js';
import { DependencyHealth, SampleList } from '../telemetry.js';
import type { DependencyStatus, MetricSample, Telemetry } from '../telemetry.js';
import { deadLetter } from '../bus/dead-letter.js';
import type { Rejection } from '../bus/dead-letter.js';

export interface JsonlConsumerOptions {
  readonly bus: MessageBus;
  readonly topic: string;
  readonly groupId: string;
  readonly file: string;
  /** Where invalid records go; without it they are logged and counted only. */
  readonly deadLetterTopic?: string;
  readonly logger?: Logger;
}

/** Why a record is not a metrics group, or undefined when it is one. */
export function invalidMetricsGroup(message: BusMessage): string | undefined {
  const read = readMetricsGroupMessage(message);
  return 'reason' in read ? read.reason : undefined;
}

export class JsonlConsumer implements Telemetry {
  /** Lines written. */
  written = 0;
  /** Records not written because they are invalid. */
  invalid = 0;
  /** Failed writes (each retried). */
  writeErrors = 0;
  readonly health: DependencyHealth;
  private readonly options: JsonlConsumerOptions;
  private readonly logger: Logger;
  private handle: FileHandle | undefined;
  /** Size of the file after the last complete write. */
  private size = 0;
  private subscription: Subscription | undefined;

  constructor(options: JsonlConsumerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.health = new DependencyHealth('jsonl', this.logger);
  }

  async start(): Promise<void> {
    const { file } = this.options;
    try {
      await mkdir(dirname(file), { recursive: true });
      this.handle = await open(file, 'a');
      this.size = (await this.handle.stat()).size;
    } catch (e) {
      throw new PanoptesError('FILE_READ', `${file}: cannot open for writing: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    this.health.up(`writing ${file}`);
    this.subscription = await this.options.bus.subscribe({
      groupId: this.options.groupId,
      topics: [this.options.topic],
      fromBeginning: true,
      maxAttempts: Infinity,
      handleBatch: (messages) => this.writeBatch(messages),
    });
  }

  private async writeBatch(messages: readonly BusMessage[]): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) throw new Error('JSONL consumer is stopped');
    const lines: string[] = [];
    const rejected: Rejection[] = [];
    for (const message of messages) {
      const reason = invalidMetricsGroup(message);
      if (reason !== undefined) rejected.push({ message, reason });
      // JSON has raw newlines only between tokens (never inside a string): one line per record.
      else lines.push((message.value as Buffer).toString('utf8').replace(/\r?\n/g, ' '));
    }
    if (lines.length > 0) {
      const buffer = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      try {
        for (let at = 0; at < buffer.length;) {
          const { bytesWritten } = await handle.write(buffer, at, buffer.length - at);
          at += bytesWritten;
        }
      } catch (e) {
        this.writeErrors++;
        // Undo a partial write so the retry does not leave half a line.
        await handle
          .truncate(this.size)
          .catch((t: unknown) =>
            this.logger.error(
              { file: this.options.file, err: errorMessage(t) },
              'cannot truncate the JSONL file after a failed write; it may end with a partial line',
            ),
          );
        this.health.down(`${this.options.file}: ${errorMessage(e)}`);
        throw new PanoptesError('FILE_WRITE', `${this.options.file}: write failed: ${errorMessage(e)}`, {
          cause: e,
        });
      }
      this.size += buffer.length;
      this.written += lines.length;
      this.health.up(`writing ${this.options.file}`);
    }
    if (rejected.length > 0) {
      this.invalid += rejected.length;
      if (this.options.deadLetterTopic !== undefined) {
        await deadLetter(this.options.bus, this.options.deadLetterTopic, 'jsonl', rejected, this.logger);
      } else {
        const first = rejected[0] as Rejection;
        this.logger.warn(
          { count: rejected.length, file: this.options.file, reason: first.reason.slice(0, 500) },
          'invalid records not written to the JSONL file',
        );
      }
    }
  }

  dependencies(): DependencyStatus[] {
    return [this.health.status()];
  }

  metrics(): MetricSample[] {
    const c = { consumer: 'jsonl' };
    return new SampleList()
      .add('panoptes_consumer_sent_total', 'Records written by a consumer.', 'counter', this.written, c)
      .add(
        'panoptes_consumer_dropped_total',
        'Records sent to the dead-letter topic.',
        'counter',
        this.invalid,
        c,
      )
      .add('panoptes_consumer_errors_total', 'Failed writes (retried).', 'counter', this.writeErrors, c)
      .samples;
  }

  /** Stops consuming (the write in flight finishes), then closes the file. */
  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = undefined;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
