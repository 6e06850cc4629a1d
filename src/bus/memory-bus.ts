/**
 * In-process MessageBus: partitioned, retained logs per topic, consumer groups with eager
 * rebalancing (every member's revocations, then the new assignments), per-partition delivery in
 * order, and offsets committed after the handler resolves. Retention is bounded per partition
 * (oldest messages dropped and counted), so a bus nobody reads cannot grow without bound.
 */
import { SampleList } from '../telemetry.js';
import type { MetricSample } from '../telemetry.js';
import { fnv1a32 } from '../hash.js';
import type {
  BusMessage,
  MessageBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TableCheck,
  TopicPartition,
} from './bus.js';
import { checkSubscribeOptions } from './bus.js';

export interface MemoryBusOptions {
  /** Partitions of every topic (auto-created on first use, like the Kafka test broker). Default 4. */
  readonly partitions?: number;
  /** Messages kept per partition. Default 100000. */
  readonly retention?: number;
  /** Back-off before retrying a failed handler, ms, doubled per attempt. Default 100. */
  readonly retryDelayMs?: number;
}

interface Stored {
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

class PartitionLog {
  /** Offset of messages[0]. */
  start = 0;
  messages: Stored[] = [];
  readonly waiters = new Set<() => void>();

  get end(): number {
    return this.start + this.messages.length;
  }

  at(offset: number): Stored | undefined {
    return this.messages[offset - this.start];
  }
}

/** FNV-1a of the key: a stable key -> partition mapping. */
function partitionOf(key: string, partitions: number): number {
  return fnv1a32(key) % partitions;
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

interface Member {
  readonly id: number;
  readonly options: SubscribeOptions;
  assigned: TopicPartition[];
  /** Running delivery loops by partition key; each resolves when stopped. */
  readonly pumps: Map<string, { stop: () => void; done: Promise<void> }>;
}

interface Group {
  readonly id: string;
  readonly members: Member[];
  readonly committed: Map<string, number>;
  /** Rebalances run one after another. */
  rebalancing: Promise<void>;
}

export interface MemoryBusStats {
  published: number;
  delivered: number;
  handlerErrors: number;
  skipped: number;
  droppedByRetention: number;
}

export class MemoryBus implements MessageBus {
  private readonly partitionCount: number;
  private readonly retention: number;
  private readonly retryDelayMs: number;
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly groups = new Map<string, Group>();
  private nextMemberId = 1;
  private roundRobin = 0;
  private closed = false;
  metrics(): MetricSample[] {
    return new SampleList()
      .add('panoptes_bus_sent_total', 'Messages published.', 'counter', this.stats.published)
      .add('panoptes_bus_received_total', 'Messages handled.', 'counter', this.stats.delivered)
      .add(
        'panoptes_bus_dropped_total',
        'Messages dropped by in-process retention or skipped after their handler kept failing.',
        'counter',
        this.stats.droppedByRetention + this.stats.skipped,
      ).samples;
  }

  readonly stats: MemoryBusStats = {
    published: 0,
    delivered: 0,
    handlerErrors: 0,
    skipped: 0,
    droppedByRetention: 0,
  };

  constructor(options: MemoryBusOptions = {}) {
    this.partitionCount = Math.max(1, options.partitions ?? 4);
    this.retention = Math.max(1, options.retention ?? 100_000);
    this.retryDelayMs = options.retryDelayMs ?? 100;
  }

  private logs(topic: string): PartitionLog[] {
    let logs = this.topics.get(topic);
    if (logs === undefined) {
      logs = Array.from({ length: this.partitionCount }, () => new PartitionLog());
      this.topics.set(topic, logs);
    }
    return logs;
  }

  /** The log end offset of every partition of a topic. */
  endOffsets(topic: string): number[] {
    return this.logs(topic).map((l) => l.end);
  }

  /** Publishing in process never waits. */
  hasRoom(): boolean {
    return true;
  }

  partitionOf(_topic: string, key: string): Promise<number> {
    return Promise.resolve(partitionOf(key, this.partitionCount));
  }

  /** The in-process bus keeps every record until it is closed: a table is always whole. */
  prepareTable(_topic: string): Promise<TableCheck> {
    return Promise.resolve({ state: 'compacted' });
  }

  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus is closed'));
    const logs = this.logs(topic);
    const touched = new Set<PartitionLog>();
    for (const m of messages) {
      const p = m.key === null ? this.roundRobin++ % logs.length : partitionOf(m.key, logs.length);
      const log = logs[p] as PartitionLog;
      log.messages.push({
        offset: log.end,
        key: m.key,
        value: m.value === null ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value, 'utf8'),
        headers: m.headers ?? {},
        timestamp: Date.now(),
      });
      if (log.messages.length > this.retention) {
        const drop = log.messages.length - this.retention;
        log.messages.splice(0, drop);
        log.start += drop;
        this.stats.droppedByRetention += drop;
      }
      touched.add(log);
      this.stats.published++;
    }
    for (const log of touched) {
      const waiters = [...log.waiters];
      log.waiters.clear();
      for (const w of waiters) w();
    }
    return Promise.resolve();
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('bus is closed');
    checkSubscribeOptions(options);
    for (const t of options.topics) this.logs(t);
    let group = this.groups.get(options.groupId);
    if (group === undefined) {
      group = { id: options.groupId, members: [], committed: new Map(), rebalancing: Promise.resolve() };
      this.groups.set(options.groupId, group);
    }
    const member: Member = { id: this.nextMemberId++, options, assigned: [], pumps: new Map() };
    group.members.push(member);
    await this.rebalance(group);
    const g = group;
    return {
      groupId: options.groupId,
      assignment: () => [...member.assigned],
      stop: async () => {
        const i = g.members.indexOf(member);
        if (i < 0) return;
        g.members.splice(i, 1);
        await this.rebalance(g, member);
      },
    };
  }

  private rebalance(group: Group, leaving?: Member): Promise<void> {
    group.rebalancing = group.rebalancing.then(() => this.doRebalance(group, leaving));
    return group.rebalancing;
  }

  private async doRebalance(group: Group, leaving?: Member): Promise<void> {
    // Every partition of every topic any member wants, dealt round-robin to the members that want it.
    const wanted = new Map<string, TopicPartition>();
    for (const m of group.members) {
      for (const topic of m.options.topics) {
        this.logs(topic).forEach((_, partition) =>
          wanted.set(tpKey({ topic, partition }), { topic, partition }),
        );
      }
    }
    const next = new Map<Member, TopicPartition[]>(group.members.map((m) => [m, []]));
    const sorted = [...wanted.values()].sort(
      (a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition,
    );
    const counters = new Map<string, number>();
    for (const tp of sorted) {
      const candidates = group.members.filter((m) => m.options.topics.includes(tp.topic));
      if (candidates.length === 0) continue;
      const n = counters.get(tp.topic) ?? 0;
      counters.set(tp.topic, n + 1);
      next.get(candidates[n % candidates.length] as Member)?.push(tp);
    }

    // Revocations first (the leaving member loses everything) ...
    const all = leaving === undefined ? group.members : [...group.members, leaving];
    for (const m of all) {
      const keep = new Set((next.get(m) ?? []).map(tpKey));
      const revoked = m.assigned.filter((tp) => !keep.has(tpKey(tp)));
      if (revoked.length === 0) continue;
      await Promise.all(
        revoked.map(async (tp) => {
          const pump = m.pumps.get(tpKey(tp));
          m.pumps.delete(tpKey(tp));
          pump?.stop();
          await pump?.done;
        }),
      );
      m.assigned = m.assigned.filter((tp) => keep.has(tpKey(tp)));
      await m.options.onRevoked?.(revoked);
    }
    // ... then assignments.
    for (const m of group.members) {
      const have = new Set(m.assigned.map(tpKey));
      const gained = (next.get(m) ?? []).filter((tp) => !have.has(tpKey(tp)));
      if (gained.length === 0) continue;
      m.assigned = [...m.assigned, ...gained];
      await m.options.onAssigned?.(gained);
      for (const tp of gained) this.startPump(group, m, tp);
    }
  }

  private startPump(group: Group, member: Member, tp: TopicPartition): void {
    const log = this.logs(tp.topic)[tp.partition] as PartitionLog;
    const key = tpKey(tp);
    let stopped = false;
    let wake: (() => void) | undefined;
    const stop = (): void => {
      stopped = true;
      wake?.();
    };
    const done = (async () => {
      let position =
        member.options.readFromStartOnAssign === true
          ? log.start
          : (group.committed.get(key) ?? (member.options.fromBeginning === true ? log.start : log.end));
      const maxAttempts = Math.max(1, member.options.maxAttempts ?? 5);
      while (!stopped && !this.closed) {
        if (position < log.start) position = log.start; // fell behind retention
        const stored = log.at(position);
        if (stored === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            log.waiters.add(resolve);
          });
          log.waiters.delete(wake ?? (() => undefined));
          continue;
        }
        const batch: BusMessage[] = [];
        const limit =
          member.options.handleBatch === undefined ? 1 : Math.max(1, member.options.maxBatchSize ?? 500);
        for (let p = position; batch.length < limit; p++) {
          const s = log.at(p);
          if (s === undefined) break;
          batch.push({
            topic: tp.topic,
            partition: tp.partition,
            offset: String(s.offset),
            key: s.key,
            value: s.value,
            headers: s.headers,
            timestamp: s.timestamp,
          });
        }
        const last = batch[batch.length - 1] as BusMessage;
        let settled = false;
        for (let attempt = 1; ; attempt++) {
          try {
            if (member.options.handleBatch !== undefined) await member.options.handleBatch(batch);
            else await member.options.handler?.(batch[0] as BusMessage);
            this.stats.delivered += batch.length;
            settled = true;
            break;
          } catch (e) {
            this.stats.handlerErrors++;
            if (this.closed || stopped) break;
            if (attempt >= maxAttempts) {
              this.stats.skipped += batch.length;
              for (const m of batch) member.options.onError?.(e, m);
              settled = true;
              break;
            }
            // Back-off, cut short by stop() or close().
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, Math.min(this.retryDelayMs * 2 ** (attempt - 1), 5000));
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            if (this.closed || stopped) break;
          }
        }
        // Not handled because the partition was revoked or the bus closed: not committed, so the
        // next owner of the partition reads it again.
        if (!settled) break;
        position = Number(last.offset) + 1;
        group.committed.set(key, position);
      }
    })();
    member.pumps.set(key, { stop, done });
  }

  /** Committed offset of a group's partition (next offset to read), if any. */
  committed(groupId: string, tp: TopicPartition): number | undefined {
    return this.groups.get(groupId)?.committed.get(tpKey(tp));
  }

  async close(): Promise<void> {
    this.closed = true;
    const pumps: Promise<void>[] = [];
    for (const g of this.groups.values()) {
      for (const m of g.members) {
        for (const p of m.pumps.values()) {
          p.stop();
          pumps.push(p.done);
        }
      }
    }
    for (const logs of this.topics.values()) {
      for (const log of logs) {
        for (const w of log.waiters) w();
        log.waiters.clear();
      }
    }
    await Promise.all(pumps);
  }
}
