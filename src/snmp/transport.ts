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
 *
 * The per-request path is kept lean, because at fleet scale it runs tens of thousands of times
 * a second:
 * - An answer is decoded once, straight away (the request-id comes with it); only what does not
 *   decode is parsed again, just far enough to find its request-id and count it correctly.
 * - Datagrams are sent in bursts: while other requests are outstanding, a request started while
 *   handling an answer is queued, and the queue is flushed once the event loop has handled every
 *   answer that was ready (setImmediate). One burst wakes the agent, or the kernel's receive
 *   path, once instead of once per request. A lone request goes out at once.
 * - Timeouts need no timer per request (DeadlineQueues): arming one is a clock read and two
 *   array stores, cancelling it one store.
 * - Sessions can use requestWith(), which reports through callbacks, instead of request(), which
 *   wraps them in a promise; the request's slot is released before its callback runs, so a walk
 *   sends its next request from the callback without queueing behind itself.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PanoptesError } from '../errors.js';
import { DeadlineQueues } from './deadlines.js';
import type { Deadline, DeadlineQueue } from './deadlines.js';
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
  /** Varbinds in the answers that completed a request. */
  varbinds: number;
}

/** Where a request's outcome goes: exactly one of the two is called, once. */
export interface RequestCallbacks {
  readonly resolve: (message: SnmpMessage) => void;
  readonly reject: (error: Error) => void;
}

/** One request, from submission to its answer or its last timeout. */
class Job implements Deadline {
  /** The resolved address, once known. */
  address: string | undefined = undefined;
  /** 0 until the first attempt is sent (request-ids are 1..2^31-1). */
  requestId = 0;
  bytes: Uint8Array | undefined = undefined;
  attempts = 0;
  socket: Socket | undefined = undefined;
  /** Answers to this job being decoded by the worker pool. */
  decoding = 0;
  /** The attempt's timer fired while answers were being decoded. */
  timeoutDeferred = false;
  /** Answered, failed or rejected: nothing more is sent for it. */
  settled = false;
  /** Where the current attempt's timeout is armed (see DeadlineQueues). */
  deadlineQueue: DeadlineQueue<Deadline> | undefined = undefined;
  deadlineSlot = 0;

  constructor(
    readonly target: SnmpTarget,
    readonly deviceKey: string,
    readonly build: (requestId: number) => Uint8Array,
    readonly timing: RequestTiming,
    readonly callbacks: RequestCallbacks,
    /** What the per-device in-flight limit counts by (defaults to deviceKey). */
    readonly limitKey: string = deviceKey,
  ) {}
}

interface DeviceSlots {
  /** Jobs of this device started or waiting for a global slot. */
  slots: number;
  /** Created when a job first has to wait. */
  waiting: Fifo<Job> | undefined;
}

interface Resolved {
  readonly address: string;
  readonly v6: boolean;
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
  /** Host (name or address literal) to address and family, resolved once. */
  private readonly resolved = new Map<string, Resolved>();
  /** Jobs whose host name is being looked up. */
  private readonly resolving = new Set<Job>();
  private inFlight = 0;
  private closed = false;
  private decodeBatch: { job: Job; message: Uint8Array }[] = [];
  private decodeScheduled = false;
  /** Attempts to send at the end of this event-loop turn. */
  private sendQueue: Job[] = [];
  private flushScheduled = false;
  private readonly flush = (): void => this.flushSends();
  private readonly timeouts = new DeadlineQueues<Job>((job) => this.onTimeout(job));
  readonly stats: TransportStats = {
    sent: 0,
    retries: 0,
    timeouts: 0,
    received: 0,
    malformed: 0,
    unknownRequestId: 0,
    wrongSource: 0,
    inFlight: 0,
    varbinds: 0,
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
    if (this.closed) return Promise.reject(closedError('SNMP transport is closed'));
    return new Promise<SnmpMessage>((resolve, reject) => {
      this.submit(new Job(target, `${target.host}:${target.port}`, build, timing, { resolve, reject }));
    });
  }

  /**
   * request() for callers that keep their own state: the outcome goes to `callbacks`, called
   * from the transport's own event handlers (or at once with the error when the transport is
   * closed), after the request's slot has been released; they must not throw. `deviceKey`
   * names the device in messages and must be `host:port`; `limitKey` is what the per-device
   * in-flight limit counts by (default deviceKey). It is kept in memory only, never logged, so
   * it may hold a community.
   */
  requestWith(
    target: SnmpTarget,
    deviceKey: string,
    build: (requestId: number) => Uint8Array,
    timing: RequestTiming,
    callbacks: RequestCallbacks,
    limitKey: string = deviceKey,
  ): void {
    if (this.closed) {
      callbacks.reject(closedError('SNMP transport is closed'));
      return;
    }
    this.submit(new Job(target, deviceKey, build, timing, callbacks, limitKey));
  }

  /** Stops every socket; requests still waiting are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = closedError('SNMP transport closed while the request was outstanding');
    for (const job of this.pending.values()) {
      this.timeouts.cancel(job);
      job.settled = true;
      job.callbacks.reject(error);
    }
    this.pending.clear();
    for (const job of this.resolving) job.callbacks.reject(error);
    this.resolving.clear();
    for (const job of this.globalWaiting.drain()) job.callbacks.reject(error);
    for (const d of this.devices.values()) {
      for (const job of d.waiting?.drain() ?? []) job.callbacks.reject(error);
    }
    this.devices.clear();
    this.timeouts.stop();
    this.sendQueue = [];
    await Promise.all(
      [...this.sockets4, ...this.sockets6].map((s) => new Promise<void>((r) => s.close(() => r()))),
    );
    await this.decoder?.close();
  }

  private submit(job: Job): void {
    let device = this.devices.get(job.limitKey);
    if (device === undefined) {
      device = { slots: 0, waiting: undefined };
      this.devices.set(job.limitKey, device);
    }
    if (device.slots < this.perDevice) {
      device.slots++;
      this.enqueueGlobal(job);
    } else {
      (device.waiting ??= new Fifo<Job>()).push(job);
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
    const device = this.devices.get(job.limitKey);
    if (device !== undefined) {
      device.slots--;
      const next = device.waiting?.shift();
      if (next !== undefined) {
        this.stats.queued--;
        device.slots++;
        this.globalWaiting.push(next);
        this.stats.queued++;
      } else if (device.slots === 0) {
        this.devices.delete(job.limitKey);
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
    const known = this.resolved.get(host);
    if (known !== undefined) {
      this.send(job, known);
      return;
    }
    const family = isIP(host);
    if (family !== 0) {
      const literal = { address: host, v6: family === 6 };
      this.resolved.set(host, literal);
      this.send(job, literal);
      return;
    }
    this.resolving.add(job);
    lookup(host).then(
      ({ address }) => {
        if (!this.resolving.delete(job)) return; // closed meanwhile: already rejected
        const found = { address, v6: isIP(address) === 6 };
        this.resolved.set(host, found);
        this.send(job, found);
      },
      (e: unknown) => {
        if (!this.resolving.delete(job)) return;
        this.finish(job);
        job.callbacks.reject(
          new PanoptesError(
            'SNMP_NETWORK',
            `cannot resolve ${host}: ${e instanceof Error ? e.message : String(e)}`,
            {
              cause: e,
              retryable: true,
              details: { device: job.deviceKey },
            },
          ),
        );
      },
    );
  }

  private socketFor(v6: boolean): Socket {
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

  /** First attempt of a job whose address is known. */
  private send(job: Job, to: Resolved): void {
    job.address = to.address;
    job.requestId = this.allocateRequestId();
    job.bytes = job.build(job.requestId);
    job.socket = this.socketFor(to.v6);
    this.pending.set(job.requestId, job);
    this.attempt(job);
  }

  /** Sends the job's datagram (at the end of this turn) and starts the attempt's timeout. */
  private attempt(job: Job): void {
    job.attempts++;
    this.stats.sent++;
    this.timeouts.arm(job, job.timing.timeoutMs);
    if (this.inFlight <= 1) {
      // Nothing else is outstanding, so no other send is coming to share a burst with.
      job.socket?.send(job.bytes ?? new Uint8Array(), job.target.port, job.address);
      return;
    }
    this.sendQueue.push(job);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** End of an event-loop turn: sends the datagrams queued during it. */
  private flushSends(): void {
    this.flushScheduled = false;
    const queue = this.sendQueue;
    this.sendQueue = [];
    for (const job of queue) {
      // A job answered (say, by a late answer to its previous attempt) needs no more sending.
      if (job.settled) continue;
      job.socket?.send(job.bytes ?? new Uint8Array(), job.target.port, job.address);
    }
  }

  private onTimeout(job: Job): void {
    if (job.decoding > 0) {
      job.timeoutDeferred = true;
      return;
    }
    if (job.attempts <= job.timing.retries) {
      this.stats.retries++;
      this.attempt(job);
      return;
    }
    this.stats.timeouts++;
    this.pending.delete(job.requestId);
    job.settled = true;
    this.finish(job);
    job.callbacks.reject(
      new PanoptesError(
        'SNMP_TIMEOUT',
        `no answer from ${job.deviceKey} after ${job.attempts} attempt(s) of ${job.timing.timeoutMs} ms`,
        { details: { device: job.deviceKey, attempts: job.attempts } },
      ),
    );
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    this.stats.received++;
    if (this.decoder === undefined) {
      // Decoded first, since nearly every answer is good: the request-id then comes with it, and
      // only what does not decode is looked at again for its request-id, to be counted as the
      // checks below would count it.
      let message: SnmpMessage | undefined;
      try {
        message = decodeMessage(msg);
      } catch {
        message = undefined;
      }
      const id = message === undefined ? peekRequestId(msg) : message.requestId;
      const job = this.answered(id, rinfo);
      if (job === undefined) return;
      if (message === undefined) this.stats.malformed++;
      else this.complete(job, message);
      return;
    }
    const job = this.answered(peekRequestId(msg), rinfo);
    if (job === undefined) return;
    // Every answer with this request-id is decoded: a corrupt one must not hide a good one
    // right behind it.
    job.decoding++;
    this.decodeBatch.push({ job, message: msg });
    if (!this.decodeScheduled) {
      this.decodeScheduled = true;
      setImmediate(() => this.flushDecodes());
    }
  }

  /** The job waiting for an answer with request-id `id` from `rinfo`; counts what is not one. */
  private answered(id: number | undefined, rinfo: RemoteInfo): Job | undefined {
    const job = id === undefined ? undefined : this.pending.get(id);
    if (job === undefined) {
      if (id === undefined) this.stats.malformed++;
      else this.stats.unknownRequestId++;
      return undefined;
    }
    if (rinfo.port !== job.target.port || rinfo.address !== job.address) {
      this.stats.wrongSource++;
      return undefined;
    }
    return job;
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
          job.decoding--;
          if (result === undefined || result instanceof Error) {
            this.stats.malformed++;
            this.afterFailedDecode(job);
            return;
          }
          this.complete(job, result);
          if (!job.settled) this.afterFailedDecode(job);
        });
      },
      () => {
        this.stats.malformed += batch.length;
        for (const { job } of batch) {
          job.decoding--;
          this.afterFailedDecode(job);
        }
      },
    );
  }

  /** Keeps waiting (a retry may bring a good answer), unless the timer fired meanwhile. */
  private afterFailedDecode(job: Job): void {
    if (job.decoding === 0 && job.timeoutDeferred && !job.settled) {
      job.timeoutDeferred = false;
      this.onTimeout(job);
    }
  }

  private complete(job: Job, message: SnmpMessage): void {
    if (job.settled) {
      // A second answer decoded by the pool after the first completed the job.
      this.stats.unknownRequestId++;
      return;
    }
    if (message.pduType !== PduType.Response) {
      this.stats.malformed++;
      return;
    }
    this.pending.delete(job.requestId);
    job.settled = true;
    this.stats.varbinds += message.varbinds.length;
    // The slot is released first, so a caller that sends its next request from the callback
    // (a walk) finds it free rather than queueing behind itself; the timeout is cancelled last,
    // so that in a walk the timeout timer never sees zero requests armed (and is not unref'd
    // and ref'd again for each step).
    this.finish(job);
    job.callbacks.resolve(message);
    this.timeouts.cancel(job);
  }
}

function closedError(message: string): PanoptesError {
  return new PanoptesError('SNMP_TIMEOUT', message);
}
