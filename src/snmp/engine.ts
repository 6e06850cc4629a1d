/**
 * The SNMP engine: one shared transport (sockets, request-ids, in-flight limits), optionally a
 * decoding worker pool, and sessions per device. v3 sessions go through net-snmp.
 */
import { PanoptesError } from '../errors.js';
import { createDecodePool } from './decode-pool.js';
import { encodeRequest } from './pdu.js';
import type { SnmpMessage } from './pdu.js';
import { BaseSession, ERROR_STATUS, SESSION_DEFAULTS, errorStatusError } from './session.js';
import type { SnmpSession, SnmpSessionOptions, SnmpVersionName } from './session.js';
import { SnmpTransport } from './transport.js';
import type { RequestTiming, SnmpTarget, TransportOptions, TransportStats } from './transport.js';
import { compareOids } from './oid.js';
import { PduType, SnmpTag, SnmpVersion } from './types.js';
import type { Varbind } from './types.js';
import { V3Session } from './v3-session.js';

export interface SnmpEngineOptions extends Omit<TransportOptions, 'decoder'> {
  /** Worker threads decoding responses; 0 decodes inline on the polling thread. Default 0. */
  readonly decodeWorkers?: number;
}

/** Default decodeWorkers: inline decoding measured cheaper than the pool on a 2-core machine (BENCHMARKS.md). */
export const DEFAULT_DECODE_WORKERS = 0;

/**
 * Why an answer cannot be the answer to the request, or undefined. SNMP has no checksum: a
 * packet corrupted on the way (or forged) may still decode, so an answer is used only if it
 * has the request's version and community and, without an error-status, the varbinds the
 * request asked for: a GET's OIDs in order, a GETNEXT's successors, at most the GETBULK's
 * repetitions (its non-repeaters' successors first).
 */
export function answerMismatch(
  message: SnmpMessage,
  version: number,
  community: Uint8Array,
  pduType: number,
  oids: readonly string[],
  nonRepeatersOrStatus: number,
  maxRepetitionsOrIndex: number,
): string | undefined {
  if (message.version !== version)
    return `SNMP version ${message.version} in the answer, ${version} in the request`;
  if (Buffer.compare(Buffer.from(message.community), Buffer.from(community)) !== 0)
    return 'another community in the answer';
  if (message.errorStatus !== 0) return undefined;
  const got = message.varbinds;
  const successor = (i: number): boolean => {
    const vb = got[i];
    const asked = oids[i];
    if (vb === undefined || asked === undefined) return false;
    return vb.type === SnmpTag.EndOfMibView || compareOids(vb.oid, asked) > 0;
  };
  if (pduType === PduType.GetRequest) {
    if (got.length !== oids.length) return `${got.length} varbinds for ${oids.length} OIDs asked`;
    for (let i = 0; i < got.length; i++)
      if (got[i]?.oid !== oids[i])
        return `varbind ${i + 1} is ${got[i]?.oid ?? '?'}, ${oids[i] ?? '?'} was asked`;
    return undefined;
  }
  if (pduType === PduType.GetNextRequest) {
    if (got.length !== oids.length) return `${got.length} varbinds for ${oids.length} OIDs asked`;
    for (let i = 0; i < got.length; i++)
      if (!successor(i)) return `varbind ${i + 1} does not follow ${oids[i] ?? '?'}`;
    return undefined;
  }
  if (pduType === PduType.GetBulkRequest) {
    const nonRepeaters = Math.min(Math.max(0, nonRepeatersOrStatus), oids.length);
    const most = nonRepeaters + (oids.length - nonRepeaters) * Math.max(0, maxRepetitionsOrIndex);
    if (got.length > most) return `${got.length} varbinds, at most ${most} asked`;
    for (let i = 0; i < Math.min(nonRepeaters, got.length); i++)
      if (!successor(i)) return `varbind ${i + 1} does not follow ${oids[i] ?? '?'}`;
    return undefined;
  }
  return undefined;
}

class TransportSession extends BaseSession {
  readonly device: string;
  protected readonly version: SnmpVersionName;
  private readonly target: SnmpTarget;
  /** The per-device in-flight limit counts by this (never logged: it may hold the community). */
  private readonly limitKey: string;
  private readonly community: Buffer;
  private readonly timing: RequestTiming;
  private readonly versionNumber: number;

  constructor(
    private readonly transport: SnmpTransport,
    options: SnmpSessionOptions,
  ) {
    super(options);
    this.target = { host: options.host, port: options.port ?? SESSION_DEFAULTS.port };
    this.device = `${this.target.host}:${this.target.port}`;
    this.version = options.version ?? SESSION_DEFAULTS.version;
    this.versionNumber = this.version === '1' ? SnmpVersion.v1 : SnmpVersion.v2c;
    this.community = Buffer.from(options.community ?? SESSION_DEFAULTS.community, 'latin1');
    // One agent per address and community: simulators and proxies serve many devices on one
    // port, told apart by community, and must not be throttled as one device.
    this.limitKey =
      options.limitKey ?? `${this.device}\u0000${options.community ?? SESSION_DEFAULTS.community}`;
    this.timing = {
      timeoutMs: options.timeoutMs ?? SESSION_DEFAULTS.timeoutMs,
      retries: options.retries ?? SESSION_DEFAULTS.retries,
    };
  }

  /**
   * One request through the transport's callback API; an answer with a non-zero error-status
   * becomes an SNMP_ERROR_STATUS error. Neither callback may throw.
   */
  private call(
    pduType: number,
    oids: readonly string[],
    a: number,
    b: number,
    resolve: (message: SnmpMessage) => void,
    reject: (error: Error) => void,
  ): void {
    this.transport.requestWith(
      this.target,
      this.device,
      (requestId) =>
        encodeRequest(
          {
            version: this.versionNumber,
            community: this.community,
            pduType,
            requestId,
            errorStatus: a,
            errorIndex: b,
          },
          oids,
        ),
      this.timing,
      {
        resolve: (message) => {
          const mismatch = answerMismatch(message, this.versionNumber, this.community, pduType, oids, a, b);
          if (mismatch !== undefined) {
            reject(
              new PanoptesError(
                'SNMP_PROTOCOL',
                `${this.device}: the answer does not match the request (${mismatch}); it is not used`,
                { details: { device: this.device } },
              ),
            );
          } else if (message.errorStatus === 0) resolve(message);
          else reject(errorStatusError(this.device, message.errorStatus, message.errorIndex, oids));
        },
        reject,
      },
      this.limitKey,
    );
  }

  private send(pduType: number, oids: readonly string[], a = 0, b = 0): Promise<SnmpMessage> {
    return new Promise((resolve, reject) => this.call(pduType, oids, a, b, resolve, reject));
  }

  /** Walks send their GETBULKs here, straight to the transport. */
  protected override bulkRequest(
    oids: readonly string[],
    nonRepeaters: number,
    maxRepetitions: number,
    resolve: (varbinds: Varbind[]) => void,
    reject: (error: Error) => void,
  ): void {
    if (this.version === '1') {
      reject(this.noBulkInV1());
      return;
    }
    this.call(
      PduType.GetBulkRequest,
      oids,
      nonRepeaters,
      maxRepetitions,
      (message) => resolve(message.varbinds),
      reject,
    );
  }

  private noBulkInV1(): PanoptesError {
    return new PanoptesError('USAGE', `${this.device}: GETBULK does not exist in SNMPv1; use GETNEXT`);
  }

  async get(oids: readonly string[]): Promise<Varbind[]> {
    try {
      return (await this.send(PduType.GetRequest, oids)).varbinds;
    } catch (e) {
      // Too many OIDs for one answer: ask for the halves separately.
      if (e instanceof PanoptesError && e.details['status'] === ERROR_STATUS.tooBig && oids.length > 1) {
        const mid = Math.ceil(oids.length / 2);
        const [x, y] = await Promise.all([this.get(oids.slice(0, mid)), this.get(oids.slice(mid))]);
        return [...x, ...y];
      }
      throw e;
    }
  }

  async getNext(oids: readonly string[]): Promise<Varbind[]> {
    return (await this.send(PduType.GetNextRequest, oids)).varbinds;
  }

  async getBulk(oids: readonly string[], nonRepeaters: number, maxRepetitions: number): Promise<Varbind[]> {
    if (this.version === '1') throw this.noBulkInV1();
    return (await this.send(PduType.GetBulkRequest, oids, nonRepeaters, maxRepetitions)).varbinds;
  }

  async close(): Promise<void> {
    // The transport is shared; nothing is owned per session.
  }
}

export class SnmpEngine {
  readonly transport: SnmpTransport;
  readonly decodeWorkers: number;
  private readonly v3Sessions = new Set<V3Session>();

  constructor(options: SnmpEngineOptions = {}) {
    this.decodeWorkers = options.decodeWorkers ?? DEFAULT_DECODE_WORKERS;
    const decoder = this.decodeWorkers > 0 ? createDecodePool(this.decodeWorkers) : undefined;
    this.transport = new SnmpTransport({ ...options, ...(decoder === undefined ? {} : { decoder }) });
  }

  /** A session for one device. v1/v2c share the engine's sockets; v3 gets a net-snmp session. */
  session(options: SnmpSessionOptions): SnmpSession {
    if ((options.version ?? SESSION_DEFAULTS.version) === '3') {
      const session = new V3Session(options, () => this.v3Sessions.delete(session));
      this.v3Sessions.add(session);
      return session;
    }
    return new TransportSession(this.transport, options);
  }

  get stats(): TransportStats {
    return this.transport.stats;
  }

  async close(): Promise<void> {
    await Promise.all([...this.v3Sessions].map((s) => s.close()));
    await this.transport.close();
  }
}
