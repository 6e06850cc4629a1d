/**
 * SNMP sessions: one device, one set of credentials, the operations polling needs. v1 and v2c
 * run on the shared-socket transport; v3 (USM) runs through the net-snmp package behind the same
 * interface. Walks and table walks are written once, over get/getNext/getBulk.
 */
import { PanoptesError } from '../errors.js';
import { compareOids, isUnder } from './oid.js';
import { nameOrder } from './pdu.js';
import { isException, SnmpTag, errorStatusName } from './types.js';
import type { Varbind } from './types.js';

export type SnmpVersionName = '1' | '2c' | '3';

export interface SnmpSessionOptions {
  readonly host: string;
  /** Default 161. */
  readonly port?: number;
  /** Default 2c. */
  readonly version?: SnmpVersionName;
  /** v1/v2c community. Default public. */
  readonly community?: string;
  /** Per attempt. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Attempts after the first. Default 1. */
  readonly retries?: number;
  /** GETBULK max-repetitions for walks. Default 25. */
  readonly maxRepetitions?: number;
  /** Walks stop with an error past this many varbinds. Default 1,000,000. */
  readonly maxWalkVarbinds?: number;
  /**
   * What the per-device in-flight limit counts by. Default: address, port and community (a
   * simulator or proxy serves many devices on one port, told apart by community). Give the
   * same key to sessions that must share one device's limit.
   */
  readonly limitKey?: string;
  readonly v3?: V3Credentials;
}

export type V3Level = 'noAuthNoPriv' | 'authNoPriv' | 'authPriv';

export interface V3Credentials {
  readonly user: string;
  readonly level: V3Level;
  readonly authProtocol?: 'md5' | 'sha';
  readonly authKey?: string;
  readonly privProtocol?: 'des' | 'aes';
  readonly privKey?: string;
  readonly context?: string;
}

export interface SnmpSession {
  /** `host:port`, for messages. */
  readonly device: string;
  get(oids: readonly string[]): Promise<Varbind[]>;
  getNext(oids: readonly string[]): Promise<Varbind[]>;
  getBulk(oids: readonly string[], nonRepeaters: number, maxRepetitions: number): Promise<Varbind[]>;
  /** Every varbind under `root`, in order; a leaf OID with nothing under it yields itself. */
  walk(root: string): Promise<Varbind[]>;
  /**
   * walk(), handing the varbinds to `sink` as each answer arrives instead of keeping them (a
   * whole-device walk printed as it goes holds one answer in memory, not the device). Resolves
   * with the number of varbinds handed over. `sink` may throw; the walk then stops with that error.
   */
  walkEach(root: string, sink: (varbinds: readonly Varbind[]) => void): Promise<number>;
  /** Several table columns walked side by side in shared requests; keyed by column OID. */
  walkColumns(columns: readonly string[]): Promise<Map<string, Varbind[]>>;
  close(): Promise<void>;
}

export const SESSION_DEFAULTS = {
  port: 161,
  version: '2c' as SnmpVersionName,
  community: 'public',
  timeoutMs: 2000,
  retries: 1,
  maxRepetitions: 25,
  maxWalkVarbinds: 1_000_000,
} as const;

export const ERROR_STATUS = { tooBig: 1, noSuchName: 2 } as const;

export function errorStatusError(
  device: string,
  status: number,
  index: number,
  oids: readonly string[],
): PanoptesError {
  const oid = index > 0 ? oids[index - 1] : undefined;
  return new PanoptesError(
    'SNMP_ERROR_STATUS',
    `${device} answered ${errorStatusName(status)} (error-status ${status}, error-index ${index}${
      oid === undefined ? '' : `, ${oid}`
    })`,
    { details: { device, status, index, ...(oid === undefined ? {} : { oid }) } },
  );
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function notIncreasing(device: string, previous: string, oid: string): PanoptesError {
  return new PanoptesError(
    'SNMP_PROTOCOL',
    `${device} returned OID ${oid} after ${previous} (not increasing); walk stopped`,
    { details: { device, previous, oid } },
  );
}

/** Walk logic shared by every session kind. */
export abstract class BaseSession implements SnmpSession {
  abstract readonly device: string;
  protected abstract readonly version: SnmpVersionName;
  protected maxRepetitions: number;
  protected readonly maxWalkVarbinds: number;

  constructor(options: SnmpSessionOptions) {
    this.maxRepetitions = Math.max(1, options.maxRepetitions ?? SESSION_DEFAULTS.maxRepetitions);
    this.maxWalkVarbinds = options.maxWalkVarbinds ?? SESSION_DEFAULTS.maxWalkVarbinds;
  }

  abstract get(oids: readonly string[]): Promise<Varbind[]>;
  abstract getNext(oids: readonly string[]): Promise<Varbind[]>;
  abstract getBulk(oids: readonly string[], nonRepeaters: number, maxRepetitions: number): Promise<Varbind[]>;
  abstract close(): Promise<void>;

  /** GETBULK that lowers max-repetitions while the agent answers tooBig. */
  protected bulkAdaptive(oids: readonly string[], repetitions: number): Promise<Varbind[]> {
    return new Promise((resolve, reject) => this.bulkAdaptiveWith(oids, repetitions, resolve, reject));
  }

  /**
   * bulkAdaptive() through callbacks (the walk's path): on tooBig, halves the repetitions, lowers
   * the session's max-repetitions for later requests, and asks again, down to one repetition.
   */
  private bulkAdaptiveWith(
    oids: readonly string[],
    repetitions: number,
    resolve: (varbinds: Varbind[]) => void,
    reject: (error: Error) => void,
  ): void {
    let reps = repetitions;
    const attempt = (): void =>
      this.bulkRequest(oids, 0, reps, resolve, (e) => {
        if (e instanceof PanoptesError && e.details['status'] === ERROR_STATUS.tooBig && reps > 1) {
          reps = Math.max(1, Math.floor(reps / 2));
          this.maxRepetitions = Math.max(1, Math.min(this.maxRepetitions, reps * Math.max(1, oids.length)));
          attempt();
          return;
        }
        reject(e);
      });
    attempt();
  }

  /** One GETNEXT step of a v1 walk; undefined at the end of the MIB (noSuchName). */
  private async nextV1(oid: string): Promise<Varbind | undefined> {
    try {
      const [vb] = await this.getNext([oid]);
      return vb;
    } catch (e) {
      if (e instanceof PanoptesError && e.details['status'] === ERROR_STATUS.noSuchName) return undefined;
      throw e;
    }
  }

  /**
   * GETBULK reporting through callbacks rather than a promise: walks issue one per step, and a
   * walk is then a chain of callbacks instead of several awaits per step. By default a wrapper
   * around getBulk(); sessions that can do better override it. `reject` gets what getBulk would
   * throw; neither callback may throw.
   */
  protected bulkRequest(
    oids: readonly string[],
    nonRepeaters: number,
    maxRepetitions: number,
    resolve: (varbinds: Varbind[]) => void,
    reject: (error: Error) => void,
  ): void {
    this.getBulk(oids, nonRepeaters, maxRepetitions).then(resolve, (e: unknown) => reject(asError(e)));
  }

  walk(root: string): Promise<Varbind[]> {
    const out: Varbind[] = [];
    return this.walkEach(root, (varbinds) => {
      for (let i = 0; i < varbinds.length; i++) out.push(varbinds[i] as Varbind);
    }).then(() => out);
  }

  walkEach(root: string, sink: (varbinds: readonly Varbind[]) => void): Promise<number> {
    return this.version === '1' ? this.walkV1(root, sink) : this.walkBulk(root, sink);
  }

  /**
   * A v2c/v3 walk: GETBULK (adaptive, see bulkAdaptiveWith) from the last OID received, until a
   * varbind leaves the subtree or ends the MIB.
   */
  private walkBulk(root: string, sink: (varbinds: readonly Varbind[]) => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let count = 0;
      let last = root;
      let rootArcs = 1;
      for (let i = 0; i < root.length; i++) if (root.charCodeAt(i) === 46) rootArcs++;
      const ask = (): void => this.bulkAdaptiveWith([last], this.maxRepetitions, onBatch, reject);
      const onBatch = (batch: Varbind[]): void => {
        try {
          let done = batch.length === 0;
          let end = 0;
          // Straight from the decoder when the batch is the message it just decoded: a name that
          // sorts after the previous one (accepted, so under the root) and shares at least the
          // root's arcs with it is under the root and increasing; anything else is checked on
          // the strings.
          const order = nameOrder(batch);
          for (; end < batch.length; end++) {
            const vb = batch[end] as Varbind;
            if (vb.type === SnmpTag.EndOfMibView) {
              done = true;
              break;
            }
            const shared = end > 0 && order !== undefined ? (order[end] ?? -1) : -1;
            if (shared < rootArcs) {
              if (!isUnder(root, vb.oid)) {
                done = true;
                break;
              }
              if (compareOids(vb.oid, last) <= 0) throw notIncreasing(this.device, last, vb.oid);
            }
            last = vb.oid;
          }
          if (end > 0) {
            count += end;
            if (count > this.maxWalkVarbinds) throw this.walkTooLong(`walk of ${root}`);
            sink(end === batch.length ? batch : batch.slice(0, end));
          }
          if (done) {
            this.walkEnd(root, count, sink).then(resolve, reject);
            return;
          }
          ask();
        } catch (e) {
          reject(asError(e));
        }
      };
      ask();
    });
  }

  /** A v1 walk: GETNEXT after GETNEXT. */
  private async walkV1(root: string, sink: (varbinds: readonly Varbind[]) => void): Promise<number> {
    let count = 0;
    let last = root;
    for (;;) {
      const vb = await this.nextV1(last);
      if (vb === undefined || vb.type === SnmpTag.EndOfMibView || !isUnder(root, vb.oid)) break;
      if (compareOids(vb.oid, last) <= 0) throw notIncreasing(this.device, last, vb.oid);
      count++;
      if (count > this.maxWalkVarbinds) throw this.walkTooLong(`walk of ${root}`);
      sink([vb]);
      last = vb.oid;
    }
    return this.walkEnd(root, count, sink);
  }

  private walkTooLong(what: string): PanoptesError {
    return new PanoptesError(
      'SNMP_PROTOCOL',
      `${this.device}: ${what} passed ${this.maxWalkVarbinds} varbinds`,
    );
  }

  /** Like snmpwalk: a root that is itself an instance (sysDescr.0) yields its own value. */
  private async walkEnd(
    root: string,
    count: number,
    sink: (varbinds: readonly Varbind[]) => void,
  ): Promise<number> {
    if (count > 0) return count;
    try {
      const [vb] = await this.get([root]);
      if (vb === undefined || isException(vb.type)) return 0;
      sink([vb]);
      return 1;
    } catch (e) {
      if (!(e instanceof PanoptesError) || e.code !== 'SNMP_ERROR_STATUS') throw e;
      return 0;
    }
  }

  async walkColumns(columns: readonly string[]): Promise<Map<string, Varbind[]>> {
    const result = new Map<string, Varbind[]>(columns.map((c) => [c, []]));
    if (this.version === '1') {
      for (const c of columns) result.set(c, await this.walk(c));
      return result;
    }
    const state = columns.map((root) => ({ root, last: root, done: false, out: result.get(root) ?? [] }));
    let total = 0;
    for (;;) {
      const active = state.filter((s) => !s.done);
      if (active.length === 0) break;
      const reps = Math.max(1, Math.floor(this.maxRepetitions / active.length));
      const batch = await this.bulkAdaptive(
        active.map((s) => s.last),
        reps,
      );
      if (batch.length === 0) break;
      batch.forEach((vb, j) => {
        const col = active[j % active.length];
        if (col === undefined || col.done) return;
        if (vb.type === SnmpTag.EndOfMibView || !isUnder(col.root, vb.oid)) {
          col.done = true;
          return;
        }
        if (compareOids(vb.oid, col.last) <= 0) throw notIncreasing(this.device, col.last, vb.oid);
        col.out.push(vb);
        col.last = vb.oid;
        total++;
      });
      // Columns that got nothing back in this round (a truncated response) are asked again.
      if (total > this.maxWalkVarbinds) throw this.walkTooLong('table walk');
    }
    return result;
  }
}
