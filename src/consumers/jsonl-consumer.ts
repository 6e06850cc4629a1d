/**
 * The JSONL file consumer: every metrics group on `<site>-processed` becomes one line of a file,
 * exactly as published (Panoptes schema 0.2 JSON; Counter64 values keep every digit, since the
 * text is written as it came). The file is appended to, so restarts do not lose earlier lines.
 * A message is committed only after its line was handed to the file; stop() flushes and closes.
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BusMessage, MessageBus, Subscription } from '../bus/bus.js';
import { PanoptesError } from '../errors.js';

export interface JsonlConsumerOptions {
  readonly bus: MessageBus;
  readonly topic: string;
  readonly groupId: string;
  readonly file: string;
}

export class JsonlConsumer {
  /** Lines written. */
  written = 0;
  private readonly options: JsonlConsumerOptions;
  private stream: WriteStream | undefined;
  private subscription: Subscription | undefined;

  constructor(options: JsonlConsumerOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    const { file } = this.options;
    await mkdir(dirname(file), { recursive: true });
    const stream = createWriteStream(file, { flags: 'a' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (e) =>
        reject(
          new PanoptesError('FILE_READ', `${file}: cannot open for writing: ${e.message}`, { cause: e }),
        ),
      );
    });
    this.stream = stream;
    this.subscription = await this.options.bus.subscribe({
      groupId: this.options.groupId,
      topics: [this.options.topic],
      fromBeginning: true,
      handler: (m) => this.write(m),
    });
  }

  private async write(message: BusMessage): Promise<void> {
    const stream = this.stream;
    if (stream === undefined || message.value === null) return;
    const line = message.value.toString('utf8').replace(/\n/g, ' ');
    if (!stream.write(`${line}\n`)) await new Promise<void>((r) => stream.once('drain', () => r()));
    this.written++;
  }

  /** Stops consuming, then flushes and closes the file. */
  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = undefined;
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined) await new Promise<void>((r) => stream.end(() => r()));
  }
}
