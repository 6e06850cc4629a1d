/**
 * The forwarder's spool: records that could not reach the upstream cluster yet, on local disk
 * in an LMDB database (lmdb-js), oldest first, compressed.
 *
 * - Records are numbered in the order they came (sequence numbers, exact up to 2^53). Each
 *   append is one chunk: one database entry, keyed by its first record's number, holding its
 *   records deflate-compressed together (metrics groups of one batch share most of their text:
 *   a chunk takes 3-6% of its records' bytes). The spool is one FIFO: records leave it in the
 *   order they came.
 * - append() resolves once LMDB committed the chunk to disk: only then may the local offsets of
 *   those records be committed (nothing is lost when the process dies after that).
 * - The spool is bounded by `maxBytes` of compressed chunks: beyond it, append drops the oldest
 *   chunks and counts their records (`dropped`). LMDB's file is somewhat larger (pages, free
 *   space it reuses).
 * - Where the sender got to is kept with the chunks (key 0): opening a spool that holds records
 *   (a restart during an outage) reads the chunks' sizes once and goes on from there.
 *
 * Inside a chunk each record is a frame: the length and JSON text of its topic, key and
 * headers, then the length and bytes of its value.
 */
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';
import { open } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { PanoptesError, errorMessage } from '../errors.js';

const deflate = promisify(deflateRaw);

/** One record waiting for the upstream cluster. */
export interface SpooledRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** A chunk as the database holds it. */
interface StoredChunk {
  /** Epoch ms when spooled. */
  readonly a: number;
  /** Records in it. */
  readonly n: number;
  /** Their frames, deflate-compressed. */
  readonly z: Uint8Array;
}

/** Key 0: where the sender got to. */
interface StoredFront {
  readonly front: number;
}

type Stored = StoredChunk | StoredFront;

const FRONT_KEY = 0;

export interface SpoolEntry {
  readonly seq: number;
  readonly record: SpooledRecord;
  /** Epoch ms when it was spooled. */
  readonly spooledAt: number;
}

/** Payload bytes of a record (value, key, topic, headers). */
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

function encodeChunk(records: readonly SpooledRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const meta = Buffer.from(JSON.stringify([r.topic, r.key, r.headers]));
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(meta.length);
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32BE(r.value.length);
    parts.push(head, meta, size, r.value);
  }
  return Buffer.concat(parts);
}

function decodeChunk(frames: Buffer): SpooledRecord[] {
  const out: SpooledRecord[] = [];
  let at = 0;
  while (at < frames.length) {
    const metaLength = frames.readUInt32BE(at);
    const [topic, key, headers] = JSON.parse(frames.toString('utf8', at + 4, at + 4 + metaLength)) as [
      string,
      string | null,
      Record<string, string>,
    ];
    at += 4 + metaLength;
    const valueLength = frames.readUInt32BE(at);
    at += 4;
    out.push({ topic, key, headers, value: frames.subarray(at, at + valueLength) });
    at += valueLength;
  }
  return out;
}

export interface SpoolOptions {
  /** Directory of the LMDB files (created when missing). */
  readonly dir: string;
  /** Compressed bytes kept at most; beyond it the oldest chunks are dropped. */
  readonly maxBytes: number;
  readonly now?: () => number;
}

/** What the spool keeps in memory of a chunk. */
interface Chunk {
  readonly first: number;
  readonly count: number;
  readonly at: number;
  /** Compressed size; 0 until written. */
  bytes: number;
  /** False while its append is still compressing and writing it. */
  ready: boolean;
}

export class Spool {
  /** The next sequence number to give. */
  private nextSeq = 1;
  /** The first record not yet sent (removed) or dropped. */
  private front = 1;
  private bytesHeld = 0;
  /** Records held, with those of appends still being written. */
  private held = 0;
  private droppedTotal = 0;
  /** Chunks in sequence order, the oldest first; some of the first one's records may be gone. */
  private readonly chunks: Chunk[] = [];
  /** Records being sent (see sending()): trim leaves their chunks until the send is over. */
  private inFlight: { readonly from: number; readonly to: number } | undefined;
  /** The last chunk peek decoded (the front one, usually read several times). */
  private decoded: { readonly first: number; readonly records: SpooledRecord[] } | undefined;
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
    try {
      spool.restore();
    } catch (e) {
      await root.close();
      throw new PanoptesError('USAGE', `spool: cannot read ${options.dir}: ${errorMessage(e)}`);
    }
    return spool;
  }

  /** Reads what a previous run left: the chunks' sizes and where the sender got to. */
  private restore(): void {
    let front: number | undefined;
    for (const { key, value } of this.db.getRange()) {
      if (key === FRONT_KEY) {
        front = (value as StoredFront).front;
        continue;
      }
      const c = value as StoredChunk;
      this.chunks.push({ first: key, count: c.n, at: c.a, bytes: c.z.byteLength, ready: true });
      this.bytesHeld += c.z.byteLength;
      this.held += c.n;
    }
    const first = this.chunks[0];
    const last = this.chunks.at(-1);
    if (first === undefined || last === undefined) {
      // Empty: numbering goes on from where the sender got to (the stored front must never be
      // ahead of records still to come).
      if (front !== undefined) this.nextSeq = this.front = front;
      return;
    }
    this.nextSeq = last.first + last.count;
    this.front = Math.max(first.first, Math.min(front ?? 0, this.nextSeq));
    this.held -= this.front - first.first;
  }

  /** Compressed bytes held (written chunks). */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** The bound: compressed bytes kept at most. */
  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Records held, with those of appends still being written. */
  get records(): number {
    return this.held;
  }

  /** Records dropped (oldest first) to stay within the bound, since the spool was opened. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Epoch ms when the oldest record held was spooled, or undefined when empty. */
  get oldestSpooledAt(): number | undefined {
    return this.records === 0 ? undefined : this.chunks[0]?.at;
  }

  /**
   * Adds records at the end, as one chunk; resolves once it is on disk. Then drops the oldest
   * chunks while more than maxBytes are held (the newest chunk is kept even when it alone is
   * larger). Returns how many records were dropped.
   */
  async append(records: readonly SpooledRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    const chunk: Chunk = {
      first: this.nextSeq,
      count: records.length,
      at: this.now(),
      bytes: 0,
      ready: false,
    };
    this.nextSeq += records.length;
    this.held += records.length;
    this.chunks.push(chunk);
    try {
      const z = await deflate(encodeChunk(records), { level: 1 });
      await this.db.put(chunk.first, { a: chunk.at, n: chunk.count, z });
      chunk.bytes = z.byteLength;
      chunk.ready = true;
      this.bytesHeld += chunk.bytes;
    } catch (e) {
      // Not spooled: forget it (the caller does not commit these records' offsets). Its
      // numbers stay unused.
      this.chunks.splice(this.chunks.indexOf(chunk), 1);
      this.held -= chunk.count;
      throw new PanoptesError(
        'BUS_ERROR',
        `spool: writing ${records.length} records failed: ${errorMessage(e)}`,
        {
          cause: e,
        },
      );
    }
    return this.trim();
  }

  /** Drops the oldest chunks beyond the bound; how many records went. */
  private async trim(): Promise<number> {
    const gone: Chunk[] = [];
    let dropped = 0;
    // Memory first (so an append or peek running meanwhile sees them gone), then the disk.
    for (;;) {
      const c = this.chunks[0];
      if (c === undefined || !c.ready || this.chunks.length <= 1 || this.bytesHeld <= this.options.maxBytes)
        break;
      // A chunk being sent stays until the send is over (its records may be delivered).
      if (this.inFlight !== undefined && c.first < this.inFlight.to && c.first + c.count > this.inFlight.from)
        break;
      this.chunks.shift();
      gone.push(c);
      this.bytesHeld -= c.bytes;
      dropped += c.first + c.count - Math.max(this.front, c.first);
      this.front = this.chunks[0]?.first ?? this.nextSeq;
    }
    if (gone.length === 0) return 0;
    this.held -= dropped;
    this.droppedTotal += dropped;
    const front = this.front;
    await this.db.transaction(() => {
      for (const c of gone) void this.db.remove(c.first);
      void this.db.put(FRONT_KEY, { front });
    });
    return dropped;
  }

  private recordsOf(c: Chunk): SpooledRecord[] {
    if (this.decoded?.first === c.first) return this.decoded.records;
    const stored = this.db.get(c.first) as StoredChunk | undefined;
    if (stored === undefined) throw new PanoptesError('BUS_ERROR', `spool: chunk ${c.first} is missing`);
    const records = decodeChunk(inflateRawSync(stored.z));
    this.decoded = { first: c.first, records };
    return records;
  }

  /** The oldest records, at most `max` of them and `maxBytes` of payload (at least one). */
  peek(max: number, maxBytes = Infinity): SpoolEntry[] {
    const out: SpoolEntry[] = [];
    let bytes = 0;
    for (const c of this.chunks) {
      if (!c.ready) break; // an append still writing: what follows it waits too
      const records = this.recordsOf(c);
      for (let seq = Math.max(this.front, c.first); seq < c.first + c.count; seq++) {
        if (out.length >= max) return out;
        const record = records[seq - c.first] as SpooledRecord;
        const size = recordBytes(record);
        if (out.length > 0 && bytes + size > maxBytes) return out;
        bytes += size;
        out.push({ seq, record, spooledAt: c.at });
      }
    }
    return out;
  }

  /**
   * Says which entries are being sent (undefined: none): until it is told otherwise, the spool
   * does not drop their chunks to keep within its bound (it may exceed the bound by them), so a
   * record is never both counted as dropped and delivered.
   */
  sending(entries: readonly SpoolEntry[] | undefined): void {
    const first = entries?.[0];
    const last = entries?.at(-1);
    this.inFlight =
      first === undefined || last === undefined ? undefined : { from: first.seq, to: last.seq + 1 };
  }

  /**
   * Removes entries peek() gave, the oldest first (they reached the upstream cluster). Returns
   * how many of them had been dropped meanwhile (counted as dropped, yet delivered: a probe's
   * record is not kept from the bound while it is sent).
   */
  async remove(entries: readonly SpoolEntry[]): Promise<number> {
    const front = this.front;
    const droppedMeanwhile = entries.filter((e) => e.seq < front).length;
    const last = entries.at(-1);
    if (last === undefined || last.seq < this.front) return droppedMeanwhile;
    // Entries before the front were dropped meanwhile (and counted then).
    this.held -= entries.filter((e) => e.seq >= front).length;
    this.front = last.seq + 1;
    const gone: Chunk[] = [];
    while (
      this.chunks.length > 0 &&
      (this.chunks[0] as Chunk).first + (this.chunks[0] as Chunk).count <= this.front
    ) {
      const c = this.chunks.shift() as Chunk;
      gone.push(c);
      this.bytesHeld -= c.bytes;
      if (this.decoded?.first === c.first) this.decoded = undefined;
    }
    const next = this.front;
    await this.db.transaction(() => {
      for (const c of gone) void this.db.remove(c.first);
      void this.db.put(FRONT_KEY, { front: next });
    });
    return droppedMeanwhile;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
