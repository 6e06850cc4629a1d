/**
 * The forwarder's spool: records that could not reach the upstream cluster yet, on local disk
 * in an LMDB database (lmdb-js), oldest first.
 *
 * - Keys are sequence numbers (ordered, exact up to 2^53); values are the records (topic, key,
 *   value, headers, when spooled), so the spool is one FIFO and a resource's records leave it in
 *   the order they came.
 * - append() resolves once LMDB committed the records to disk: only then may the local offsets
 *   of those records be committed (nothing is lost when the process dies after that).
 * - The spool is bounded by `maxBytes` of record payload (key, value, header texts and topic):
 *   beyond it, append drops the oldest records and counts them (`dropped`). LMDB's file can be
 *   larger than the payload (pages, free space it reuses).
 * - Opening a spool that holds records (a restart during an outage) reads them once to restore
 *   the counts, so draining continues where it stopped.
 */
import { mkdir } from 'node:fs/promises';
import { open } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { PanoptesError, errorMessage } from '../errors.js';

/** One record waiting for the upstream cluster. */
export interface SpooledRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** What the database holds per record (short names: millions of them in a long outage). */
interface Stored {
  readonly t: string;
  readonly k: string | null;
  readonly v: Uint8Array;
  readonly h: Readonly<Record<string, string>>;
  /** Epoch ms when spooled. */
  readonly a: number;
}

export interface SpoolEntry {
  readonly seq: number;
  readonly record: SpooledRecord;
  /** Epoch ms when it was spooled. */
  readonly spooledAt: number;
}

/** Payload bytes a record counts against the bound. */
export function recordBytes(r: {
  topic: string;
  key: string | null;
  value: Uint8Array;
  headers: Readonly<Record<string, string>>;
}): number {
  let n = r.value.byteLength + Buffer.byteLength(r.topic) + (r.key === null ? 0 : Buffer.byteLength(r.key));
  for (const [k, v] of Object.entries(r.headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

export interface SpoolOptions {
  /** Directory of the LMDB files (created when missing). */
  readonly dir: string;
  /** Payload bytes kept at most; beyond it the oldest records are dropped. */
  readonly maxBytes: number;
  readonly now?: () => number;
}

export class Spool {
  /** The next sequence number to write. */
  private nextSeq = 1;
  /** The oldest sequence number held (nextSeq when empty). */
  private firstSeq = 1;
  private bytesHeld = 0;
  private droppedTotal = 0;
  /** Records spooled per record key (null keys under ''), for ordering per resource. */
  private readonly perKey = new Map<string, number>();
  /**
   * Payload bytes, key and spooling time of each record held, by sequence: the counts, drops
   * and the oldest record's age come from here, without reading the database back.
   */
  private readonly held = new Map<
    number,
    { readonly bytes: number; readonly key: string; readonly at: number }
  >();
  private readonly now: () => number;

  private constructor(
    private readonly db: RootDatabase<Stored, number>,
    private readonly options: SpoolOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    if (!(options.maxBytes > 0)) {
      throw new PanoptesError('USAGE', `spool: maxBytes must be > 0, got ${options.maxBytes}`);
    }
    let root: RootDatabase<Stored, number>;
    try {
      await mkdir(options.dir, { recursive: true });
      root = open<Stored, number>({ path: options.dir, keyEncoding: 'ordered-binary', encoding: 'msgpack' });
    } catch (e) {
      throw new PanoptesError('USAGE', `spool: cannot open ${options.dir}: ${errorMessage(e)}`);
    }
    const spool = new Spool(root, options);
    spool.restore();
    return spool;
  }

  /** Reads what a previous run left, to restore the counts and the next sequence number. */
  private restore(): void {
    let first: number | undefined;
    let last = 0;
    for (const { key, value } of this.db.getRange()) {
      first ??= key;
      last = key;
      this.add(key, value);
    }
    if (first !== undefined) {
      this.firstSeq = first;
      this.nextSeq = last + 1;
    }
  }

  private add(seq: number, s: Stored): void {
    const key = s.k ?? '';
    const bytes = recordBytes({ topic: s.t, key: s.k, value: s.v, headers: s.h });
    this.held.set(seq, { bytes, key, at: s.a });
    this.bytesHeld += bytes;
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
  }

  private forget(seq: number): void {
    const h = this.held.get(seq);
    if (h === undefined) return;
    this.held.delete(seq);
    this.bytesHeld -= h.bytes;
    const n = (this.perKey.get(h.key) ?? 0) - 1;
    if (n <= 0) this.perKey.delete(h.key);
    else this.perKey.set(h.key, n);
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** The bound: payload bytes kept at most. */
  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Records held. */
  get records(): number {
    return this.held.size;
  }

  /** Records dropped (oldest first) to stay within the bound, since the spool was opened. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Epoch ms when the oldest record held was spooled, or undefined when empty. */
  get oldestSpooledAt(): number | undefined {
    return this.held.get(this.firstSeq)?.at;
  }

  /** Whether records with this key are waiting (new ones must queue behind them). */
  holds(key: string | null): boolean {
    return this.perKey.has(key ?? '');
  }

  /**
   * Adds records at the end; resolves once they are on disk. Then drops the oldest records
   * while more than maxBytes are held (a record larger than the bound alone is kept until the
   * next append). Returns how many were dropped.
   */
  async append(records: readonly SpooledRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    const at = this.now();
    const first = this.nextSeq;
    const stored: Stored[] = records.map((r) => ({ t: r.topic, k: r.key, v: r.value, h: r.headers, a: at }));
    this.nextSeq += records.length;
    await this.db.transaction(() => {
      stored.forEach((s, i) => void this.db.put(first + i, s));
    });
    stored.forEach((s, i) => this.add(first + i, s));
    return this.trim();
  }

  /** Drops the oldest records beyond the bound; how many went. */
  private async trim(): Promise<number> {
    const drop: number[] = [];
    let bytes = this.bytesHeld;
    for (let seq = this.firstSeq; bytes > this.options.maxBytes && this.held.size - drop.length > 1; seq++) {
      const h = this.held.get(seq);
      if (h === undefined) continue;
      drop.push(seq);
      bytes -= h.bytes;
    }
    if (drop.length === 0) return 0;
    // Forgotten before the write, so a trim or peek that runs meanwhile (appends of two
    // partitions overlap) neither drops nor sends these again.
    for (const seq of drop) this.forget(seq);
    this.droppedTotal += drop.length;
    this.advance();
    await this.db.transaction(() => {
      for (const seq of drop) void this.db.remove(seq);
    });
    return drop.length;
  }

  /** The oldest records, at most `max` of them and `maxBytes` of payload (at least one). */
  peek(max: number, maxBytes = Infinity): SpoolEntry[] {
    const out: SpoolEntry[] = [];
    let bytes = 0;
    for (const { key, value } of this.db.getRange({ start: this.firstSeq, limit: max })) {
      // A record on disk but not yet counted belongs to an append still finishing: later.
      const size = this.held.get(key)?.bytes;
      if (size === undefined || (out.length > 0 && bytes + size > maxBytes)) break;
      bytes += size;
      out.push({
        seq: key,
        spooledAt: value.a,
        record: { topic: value.t, key: value.k, value: Buffer.from(value.v), headers: value.h },
      });
    }
    return out;
  }

  /** Removes entries peek() gave (they reached the upstream cluster). */
  async remove(entries: readonly SpoolEntry[]): Promise<void> {
    const held = entries.filter((e) => this.held.has(e.seq));
    if (held.length === 0) return;
    for (const e of held) this.forget(e.seq);
    this.advance();
    await this.db.transaction(() => {
      for (const e of held) void this.db.remove(e.seq);
    });
  }

  /** Moves the start past what left the front. */
  private advance(): void {
    while (this.firstSeq < this.nextSeq && !this.held.has(this.firstSeq)) this.firstSeq++;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
