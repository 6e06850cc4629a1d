/**
 * The SNMP transport: a few UDP sockets shared by every device, requests told apart by
 * request-id, so polling tens of thousands of devices needs neither tens of thousands of file
 * descriptors nor one socket per device.
 *
 * - Each request gets a fresh request-id; retries resend the same bytes with the same id, so a
 *   late answer to the first attempt still completes it.
 * - At most `maxInFlightPerDevice` requests (default 1) are outstanding to one device and at most
 *   `maxInFlight` overall; the rest wait in FIFO order. A dead device therefore delays only its
 *   own requests, by its own timeouts.
 * - An answer is accepted only from the address and port the request went to, with a known
 *   request-id, and only if it decodes; anything else is dropped and counted, never thrown.
 * - Decoding happens inline, or in a Piscina worker pool when a decoder is supplied.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PanoptesError } from '../errors.js';
import { Fifo } from './fifo.js';
import { decodeMessage, peekRequestId } from './pdu.js';
import type { SnmpMessage } from './pdu.js';
import { PduType } from './types.js';

export interface SnmpTarget {
  readonly host: string;
  readonly port: number;
}

export interface RequestTiming {
  /** Milliseconds to wait for an answer to one attempt. */
  readonly timeoutMs: number;
  /** Attempts after the first. */
  readonly retries: number;
}

/** Decodes received messages somewhere else (a worker pool); resolves in input order. */
export interface MessageDecoder {
  decode(messages: readonly Uint8Array[]): Promise<(SnmpMessage | Error)[]>;
  close(): Promise<void>;
}

export interface TransportOptions {
  /** UDP sockets to share (per address family). Default 2. */
  readonly sockets?: number;
  /** Requests outstanding at once, over all devices. Default 2000. */
  readonly maxInFlight?: number;
  /** Requests outstanding at once to one device. Default 1. */
  readonly maxInFlightPerDevice?: number;
  /** Address to bind the IPv4 sockets to. Default 0.0.0.0. */
  readonly bindAddress?: string;
  /** Off-thread decoding; inline when absent. */
  readonly decoder?: MessageDecoder;
}

export interface TransportStats {
  sent: number;
  retries: number;
  timeouts: number;
  received: number;
  /** Answers that did not decode. */
  malformed: number;
  /** Answers with a request-id nobody waits for (late, duplicated or forged). */
  unknownRequestId: number;
  /** Answers from another address or port than the request went to. */
  wrongSource: number;
  inFlight: number;
  queued: number;
}

interface Job {
  readonly target: SnmpTarget;
  readonly deviceKey: string;
  readonly build: (requestId: number) => Uint8Array;
  readonly timing: RequestTiming;
  readonly resolve: (message: SnmpMessage) => void;
  readonly reject: (error: Error) => void;
  address?: string;
  requestId?: number;
  bytes?: Uint8Array;
  attempts: number;
  timer?: NodeJS.Timeout;
  socket?: Socket;
  decoding?: boolean;
  /** The attempt's timer fired while its answer was being decoded. */
  timeoutDeferred?: boolean;
}

interface DeviceSlots {
  /** Jobs of this device started or waiting for a global slot. */
  slots: number;
  readonly waiting: Fifo<Job>;
}

const MAX_REQUEST_ID = 0x7fffffff;

export class SnmpTransport {
  private readonly socketCount: number;
  private readonly maxInFlight: number;
  private readonly perDevice: number;
  private readonly bindAddress: string;
  private readonly decoder: MessageDecoder | undefined;
  private readonly sockets4: Socket[] = [];
  private readonly sockets6: Socket[] = [];
  private nextSocket = 0;
  private nextRequestId = Math.floor(Math.random() * MAX_REQUEST_ID) + 1;
  private readonly pending = new Map<number, Job>();
  private readonly devices = new Map<string, DeviceSlots>();
  private readonly globalWaiting = new Fifo<Job>();
  private readonly resolved = new Map<string, string>();
  private inFlight = 0;
  private closed = false;
  private decodeBatch: { job: Job; message: Uint8Array }[] = [];
  private decodeScheduled = false;
  readonly stats: TransportStats = {
    sent: 0,
    retries: 0,
    timeouts: 0,
    received: 0,
    malformed: 0,
    unknownRequestId: 0,
    wrongSource: 0,
    inFlight: 0,
    queued: 0,
  };

  constructor(options: TransportOptions = {}) {
    this.socketCount = Math.max(1, options.sockets ?? 2);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2000);
    this.perDevice = Math.max(1, options.maxInFlightPerDevice ?? 1);
    this.bindAddress = options.bindAddress ?? '0.0.0.0';
    this.decoder = options.decoder;
  }

  /**
   * Sends a request built by `build(requestId)` and resolves with the decoded Response.
   * Rejects with SNMP_TIMEOUT after the last attempt times out.
   */
  request(
    target: SnmpTarget,
    build: (requestId: number) => Uint8Array,
    timing: RequestTiming,
  ): Promise<SnmpMessage> {
    if (this.closed) return Promise.reject(new PanoptesError('SNMP_TIMEOUT', 'SNMP transport is closed'));
    return new Promise<SnmpMessage>((resolve, reject) => {
      const job: Job = {
        target,
        deviceKey: `${target.host}:${target.port}`,
        build,
        timing,
        resolve,
        reject,
        attempts: 0,
      };
      this.submit(job);
    });
  }

  /** Stops every socket; requests still waiting are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new PanoptesError(
      'SNMP_TIMEOUT',
      'SNMP transport closed while the request was outstanding',
    );
    for (const job of this.pending.values()) {
      clearTimeout(job.timer);
      job.reject(error);
    }
    this.pending.clear();
    for (const job of this.globalWaiting.drain()) job.reject(error);
    for (const d of this.devices.values()) for (const job of d.waiting.drain()) job.reject(error);
    this.devices.clear();
    await Promise.all(
      [...this.sockets4, ...this.sockets6].map((s) => new Promise<void>((r) => s.close(() => r()))),
    );
    await this.decoder?.close();
  }

  private submit(job: Job): void {
    let device = this.devices.get(job.deviceKey);
    if (device === undefined) {
      device = { slots: 0, waiting: new Fifo<Job>() };
      this.devices.set(job.deviceKey, device);
    }
    if (device.slots < this.perDevice) {
      device.slots++;
      this.enqueueGlobal(job);
    } else {
      device.waiting.push(job);
      this.stats.queued++;
    }
  }

  private enqueueGlobal(job: Job): void {
    if (this.inFlight < this.maxInFlight && this.globalWaiting.length === 0) {
      this.start(job);
    } else {
      this.globalWaiting.push(job);
      this.stats.queued++;
    }
  }

  private finish(job: Job): void {
    this.inFlight--;
    this.stats.inFlight = this.inFlight;
    const device = this.devices.get(job.deviceKey);
    if (device !== undefined) {
      device.slots--;
      const next = device.waiting.shift();
      if (next !== undefined) {
        this.stats.queued--;
        device.slots++;
        this.globalWaiting.push(next);
        this.stats.queued++;
      } else if (device.slots === 0) {
        this.devices.delete(job.deviceKey);
      }
    }
    while (this.inFlight < this.maxInFlight) {
      const waiting = this.globalWaiting.shift();
      if (waiting === undefined) break;
      this.stats.queued--;
      this.start(waiting);
    }
  }

  private allocateRequestId(): number {
    for (;;) {
      const id = this.nextRequestId;
      this.nextRequestId = id >= MAX_REQUEST_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private start(job: Job): void {
    this.inFlight++;
    this.stats.inFlight = this.inFlight;
    const host = job.target.host;
    if (isIP(host) !== 0) {
      job.address = host;
      this.send(job);
      return;
    }
    const known = this.resolved.get(host);
    if (known !== undefined) {
      job.address = known;
      this.send(job);
      return;
    }
    lookup(host).then(
      ({ address }) => {
        this.resolved.set(host, address);
        job.address = address;
        this.send(job);
      },
      (e: unknown) => {
        job.reject(
          new PanoptesError(
            'SNMP_TIMEOUT',
            `cannot resolve ${host}: ${e instanceof Error ? e.message : String(e)}`,
            {
              cause: e,
              retryable: true,
              details: { device: job.deviceKey },
            },
          ),
        );
        this.finish(job);
      },
    );
  }

  private socketFor(address: string): Socket {
    const v6 = isIP(address) === 6;
    const pool = v6 ? this.sockets6 : this.sockets4;
    if (pool.length < this.socketCount) {
      const socket = createSocket(v6 ? 'udp6' : 'udp4');
      socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
      socket.on('error', () => {
        // A send error on UDP (e.g. ICMP unreachable surfaced by the OS) is not fatal: the
        // request times out and is retried like a lost packet.
      });
      socket.bind({ address: v6 ? '::' : this.bindAddress, port: 0, exclusive: true });
      socket.unref();
      pool.push(socket);
      return socket;
    }
    this.nextSocket = (this.nextSocket + 1) % pool.length;
    return pool[this.nextSocket] as Socket;
  }

  private send(job: Job): void {
    if (this.closed) return;
    if (job.requestId === undefined) {
      job.requestId = this.allocateRequestId();
      job.bytes = job.build(job.requestId);
      job.socket = this.socketFor(job.address ?? job.target.host);
      this.pending.set(job.requestId, job);
    } else {
      this.stats.retries++;
    }
    job.attempts++;
    this.stats.sent++;
    job.socket?.send(job.bytes ?? new Uint8Array(), job.target.port, job.address);
    job.timer = setTimeout(() => this.onTimeout(job), job.timing.timeoutMs);
  }

  private onTimeout(job: Job): void {
    if (job.decoding === true) {
      job.timeoutDeferred = true;
      return;
    }
    if (job.attempts <= job.timing.retries) {
      this.send(job);
      return;
    }
    this.stats.timeouts++;
    if (job.requestId !== undefined) this.pending.delete(job.requestId);
    job.reject(
      new PanoptesError(
        'SNMP_TIMEOUT',
        `no answer from ${job.deviceKey} after ${job.attempts} attempt(s) of ${job.timing.timeoutMs} ms`,
        { details: { device: job.deviceKey, attempts: job.attempts } },
      ),
    );
    this.finish(job);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    this.stats.received++;
    const id = peekRequestId(msg);
    const job = id === undefined ? undefined : this.pending.get(id);
    if (job === undefined || job.decoding === true) {
      if (id === undefined) this.stats.malformed++;
      else this.stats.unknownRequestId++;
      return;
    }
    if (rinfo.port !== job.target.port || rinfo.address !== job.address) {
      this.stats.wrongSource++;
      return;
    }
    if (this.decoder === undefined) {
      let message: SnmpMessage;
      try {
        message = decodeMessage(msg);
      } catch {
        this.stats.malformed++;
        return;
      }
      this.complete(job, message);
      return;
    }
    job.decoding = true;
    this.decodeBatch.push({ job, message: msg });
    if (!this.decodeScheduled) {
      this.decodeScheduled = true;
      setImmediate(() => this.flushDecodes());
    }
  }

  private flushDecodes(): void {
    this.decodeScheduled = false;
    const batch = this.decodeBatch;
    this.decodeBatch = [];
    const decoder = this.decoder;
    if (decoder === undefined || batch.length === 0) return;
    decoder.decode(batch.map((b) => b.message)).then(
      (results) => {
        batch.forEach(({ job }, i) => {
          const result = results[i];
          job.decoding = false;
          if (result === undefined || result instanceof Error) {
            this.stats.malformed++;
            // Keep waiting (a retry may bring a good answer), unless the timer already fired.
            if (job.timeoutDeferred === true) {
              job.timeoutDeferred = false;
              this.onTimeout(job);
            }
            return;
          }
          this.complete(job, result);
        });
      },
      () => {
        this.stats.malformed += batch.length;
        for (const { job } of batch) {
          job.decoding = false;
          if (job.timeoutDeferred === true) {
            job.timeoutDeferred = false;
            this.onTimeout(job);
          }
        }
      },
    );
  }

  private complete(job: Job, message: SnmpMessage): void {
    if (
      message.pduType !== PduType.Response ||
      job.requestId === undefined ||
      !this.pending.has(job.requestId)
    ) {
      this.stats.malformed++;
      return;
    }
    clearTimeout(job.timer);
    this.pending.delete(job.requestId);
    job.resolve(message);
    this.finish(job);
  }
}
