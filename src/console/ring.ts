/**
 * SeriesRing: the newest points of one console series in a fixed-capacity circular buffer, so
 * memory per series is set when it is made and never grows however long the node runs.
 *
 * Layout (typed arrays, allocated once):
 *   times   Uint32Array[capacity]            whole seconds since the epoch (good to 2106)
 *   values  Float32Array[capacity] x fields  one array per field (e.g. traffic: in, out);
 *                                            NaN where a poll had no value for the field
 *   head    index the next point is written at; count: points held (<= capacity)
 * The oldest point is at (head - count) mod capacity. A point costs 4 + 4 x fields bytes.
 *
 * Why these types: the console draws charts, where a second's resolution and float32's seven
 * significant digits are far below a pixel; they halve the memory of float64 pairs. Two series
 * that are always polled together (an interface's in and out) share one time array.
 */
export interface RingPoints {
  /** Seconds since the epoch, oldest first. */
  readonly times: number[];
  /** One array per field, aligned with times; null where there was no value. */
  readonly values: (number | null)[][];
}

export class SeriesRing {
  readonly capacity: number;
  private readonly times: Uint32Array;
  private readonly values: Float32Array[];
  private head = 0;
  private count = 0;

  constructor(capacity: number, fields: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`SeriesRing: capacity must be a positive integer, not ${capacity}`);
    if (!Number.isInteger(fields) || fields < 1)
      throw new RangeError(`SeriesRing: fields must be a positive integer, not ${fields}`);
    this.capacity = capacity;
    this.times = new Uint32Array(capacity);
    this.values = Array.from({ length: fields }, () => new Float32Array(capacity));
  }

  get fields(): number {
    return this.values.length;
  }

  /** Points held. */
  get size(): number {
    return this.count;
  }

  /** Time of the newest point, or undefined when empty. */
  get lastTime(): number | undefined {
    if (this.count === 0) return undefined;
    return this.times[(this.head - 1 + this.capacity) % this.capacity];
  }

  /** Bytes of the typed arrays (what capacity costs, held or not). */
  get bytes(): number {
    return this.times.byteLength + this.values.reduce((sum, v) => sum + v.byteLength, 0);
  }

  /**
   * Adds a point, overwriting the oldest when full. A point not newer than the newest held is
   * refused (false): delivery is at least once, so a record read again must not add a point.
   */
  push(time: number, fields: readonly number[]): boolean {
    const t = Math.floor(time);
    const last = this.lastTime;
    if (last !== undefined && t <= last) return false;
    this.times[this.head] = t;
    for (let f = 0; f < this.values.length; f++)
      (this.values[f] as Float32Array)[this.head] = fields[f] ?? NaN;
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    return true;
  }

  /** The points at or after `since` (seconds), oldest first. */
  read(since = 0): RingPoints {
    const times: number[] = [];
    const values: (number | null)[][] = this.values.map(() => []);
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) {
      const at = (start + i) % this.capacity;
      const t = this.times[at] as number;
      if (t < since) continue;
      times.push(t);
      for (let f = 0; f < this.values.length; f++) {
        const v = (this.values[f] as Float32Array)[at] as number;
        // float32's own 7 digits, not the binary expansion (96.8, not 96.80000305175781).
        (values[f] as (number | null)[]).push(Number.isNaN(v) ? null : Number(v.toPrecision(7)));
      }
    }
    return { times, values };
  }

  /** A ring of another capacity holding the newest points of this one (an interval changed). */
  resized(capacity: number): SeriesRing {
    const out = new SeriesRing(capacity, this.fields);
    const { times, values } = this.read();
    for (let i = Math.max(0, times.length - capacity); i < times.length; i++)
      out.push(
        times[i] as number,
        values.map((v) => v[i] ?? NaN),
      );
    return out;
  }
}
