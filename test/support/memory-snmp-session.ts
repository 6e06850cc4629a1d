/**
 * An in-memory SnmpSession over a list of varbinds (an snmprec recording, or a table written by
 * a test), for unit tests of plugins and profiles: no socket, the same answers a v2c agent gives
 * (noSuchObject for a GET of a missing OID, walks that stop at the end of a subtree). `fail`
 * makes the OIDs under a prefix time out, as a device that does not answer them would.
 */
import { readFileSync } from 'node:fs';
import { PanoptesError } from '../../src/errors.js';
import { compareOids, isUnder } from '../../src/snmp/oid.js';
import type { SnmpSession } from '../../src/snmp/session.js';
import { parseSnmprec } from '../../src/snmp/snmprec.js';
import { SnmpTag } from '../../src/snmp/types.js';
import type { Varbind } from '../../src/snmp/types.js';

export interface MemorySessionOptions {
  /** OID prefixes whose requests time out. */
  readonly fail?: readonly string[];
}

export class MemorySnmpSession implements SnmpSession {
  readonly device = 'memory:161';
  /** Requests made, by kind (for tests that count round trips). */
  readonly requests = { get: 0, getNext: 0, getBulk: 0, walk: 0 };
  /** How often close() was called (a plugin must close what it opens, failures included). */
  closed = 0;
  private readonly sorted: Varbind[];
  private readonly byOid: Map<string, Varbind>;

  constructor(
    varbinds: readonly Varbind[],
    private readonly options: MemorySessionOptions = {},
  ) {
    this.sorted = [...varbinds].sort((a, b) => compareOids(a.oid, b.oid));
    this.byOid = new Map(this.sorted.map((v) => [v.oid, v]));
  }

  static fromSnmprec(path: string, options: MemorySessionOptions = {}): MemorySnmpSession {
    const records = parseSnmprec(readFileSync(path, 'utf8'), path);
    return new MemorySnmpSession(
      records.map((r) => ({ oid: r.oid, type: r.type, value: r.value })),
      options,
    );
  }

  private failure(oid: string): PanoptesError | undefined {
    if ((this.options.fail ?? []).some((p) => oid === p || isUnder(p, oid))) {
      return new PanoptesError('SNMP_TIMEOUT', `${this.device}: no answer for ${oid}`);
    }
    return undefined;
  }

  private next(oid: string): Varbind {
    // First varbind strictly after oid (binary search).
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareOids((this.sorted[mid] as Varbind).oid, oid) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.sorted[lo] ?? { oid, type: SnmpTag.EndOfMibView, value: null };
  }

  get(oids: readonly string[]): Promise<Varbind[]> {
    this.requests.get++;
    for (const o of oids) {
      const e = this.failure(o);
      if (e !== undefined) return Promise.reject(e);
    }
    return Promise.resolve(
      oids.map((oid) => this.byOid.get(oid) ?? { oid, type: SnmpTag.NoSuchObject, value: null }),
    );
  }

  getNext(oids: readonly string[]): Promise<Varbind[]> {
    this.requests.getNext++;
    return Promise.resolve(oids.map((o) => this.next(o)));
  }

  getBulk(oids: readonly string[], nonRepeaters: number, maxRepetitions: number): Promise<Varbind[]> {
    this.requests.getBulk++;
    const out: Varbind[] = [];
    oids.slice(0, nonRepeaters).forEach((o) => out.push(this.next(o)));
    const repeaters = oids.slice(nonRepeaters);
    let cursor = [...repeaters];
    for (let r = 0; r < maxRepetitions && cursor.length > 0; r++) {
      cursor = cursor.map((o) => {
        const vb = this.next(o);
        out.push(vb);
        return vb.oid;
      });
    }
    return Promise.resolve(out);
  }

  walk(root: string): Promise<Varbind[]> {
    this.requests.walk++;
    const e = this.failure(root);
    if (e !== undefined) return Promise.reject(e);
    const under = this.sorted.filter((v) => isUnder(root, v.oid));
    const leaf = this.byOid.get(root);
    return Promise.resolve(under.length === 0 && leaf !== undefined ? [leaf] : under);
  }

  async walkEach(root: string, sink: (varbinds: readonly Varbind[]) => void): Promise<number> {
    const varbinds = await this.walk(root);
    sink(varbinds);
    return varbinds.length;
  }

  async walkColumns(columns: readonly string[]): Promise<Map<string, Varbind[]>> {
    const out = new Map<string, Varbind[]>();
    for (const c of columns) out.set(c, await this.walk(c));
    return out;
  }

  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}
