/**
 * Synthetic gNMI targets: the SNMP simulator's devices (synthetic.ts) over gNMI, on one port,
 * so the same device can be polled over SNMP and streamed over gNMI with the same numbers.
 *
 * A request names its device in the path prefix's `target` (`sim-00001`, as the SNMP
 * community does); without one it gets device 1. OpenConfig paths served (interface names are
 * the SNMP ifName, `Gi0/<i>`):
 *
 *   /interfaces/interface[name=Gi0/i]/state/counters/{in-octets, out-octets, in-unicast-pkts,
 *        out-unicast-pkts, in-errors, out-errors, in-discards, out-discards}   ifHC* and error counters
 *   /interfaces/interface[name=Gi0/i]/state/{name, description, type, oper-status, admin-status, mtu}
 *   /interfaces/interface[name=Gi0/i]/ethernet/state/port-speed                ifHighSpeed as SPEED_1GB
 *   /components/component[name=Simulated CPU n]/cpu/utilization/state/instant  hrProcessorLoad
 *   /components/component[name=<sensor>]/state/temperature/instant              LM-SENSORS, Celsius
 *   /components/component[name=Physical memory]/state/memory/{available, utilized}  bytes
 *
 * Subscribe: STREAM (SAMPLE at the asked interval, default 10 s; ON_CHANGE sends the values
 * once: nothing but counters changes), POLL and ONCE; Get; Capabilities. Values are sent as
 * typed scalars (PROTO) or, for JSON and JSON_IETF, a container's leaves as one JSON object
 * (RFC 7951: 64-bit integers as strings). The formulas run on the simulator's start time, so
 * counters match the SNMP simulator started at the same moment.
 */
import * as grpc from '@grpc/grpc-js';
import { PanoptesError, errorMessage } from '../errors.js';
import { gnmiService } from '../gnmi/client.js';
import {
  SYNTHETIC_CPUS,
  SYNTHETIC_STORAGE,
  SYNTHETIC_TEMPERATURES,
  deviceNumberFromCommunity,
  syntheticCounters,
  syntheticIfAlias,
  syntheticIfName,
  syntheticOperStatus,
  IF_MTU,
  IF_SPEED,
} from './synthetic.js';

export interface GnmiSimulatorOptions {
  readonly devices: number;
  readonly interfaces: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0: any free port. */
  readonly port: number;
  /** The formulas' time origin, epoch ms (default: now). Share the SNMP simulator's for parity. */
  readonly startMs?: number;
}

type Elem = readonly [name: string, key: Readonly<Record<string, string>>];
type Leaf = string | number | bigint | boolean;
interface Group {
  readonly prefix: readonly Elem[];
  readonly leaves: Readonly<Record<string, Leaf>>;
}

interface WirePath {
  readonly elem?: readonly { readonly name?: string; readonly key?: Readonly<Record<string, string>> }[];
  readonly target?: string;
  readonly origin?: string;
}

const COUNTERS: readonly (readonly [string, keyof ReturnType<typeof syntheticCounters>])[] = [
  ['in-octets', 'ifHCInOctets'],
  ['out-octets', 'ifHCOutOctets'],
  ['in-unicast-pkts', 'ifHCInUcastPkts'],
  ['out-unicast-pkts', 'ifHCOutUcastPkts'],
  ['in-errors', 'ifInErrors'],
  ['out-errors', 'ifOutErrors'],
  ['in-discards', 'ifInDiscards'],
  ['out-discards', 'ifOutDiscards'],
];

/** Every value of device d at elapsedMs, grouped by container. */
export function syntheticGnmiGroups(d: number, interfaces: number, elapsedMs: number): Group[] {
  const groups: Group[] = [];
  for (let i = 1; i <= interfaces; i++) {
    const name = syntheticIfName(i);
    const iface: Elem[] = [
      ['interfaces', {}],
      ['interface', { name }],
      ['state', {}],
    ];
    const c = syntheticCounters(d, i, elapsedMs);
    groups.push({
      prefix: [...iface, ['counters', {}]],
      leaves: Object.fromEntries(COUNTERS.map(([leaf, key]) => [leaf, c[key]])),
    });
    groups.push({
      prefix: iface,
      leaves: {
        name,
        description: syntheticIfAlias(d, i),
        type: 'iana-if-type:ethernetCsmacd', // ifType 6
        'oper-status': syntheticOperStatus(i) === 1 ? 'UP' : 'DOWN',
        'admin-status': 'UP',
        mtu: IF_MTU,
      },
    });
    groups.push({
      prefix: [...iface.slice(0, -1), ['ethernet', {}], ['state', {}]],
      leaves: {
        'port-speed': `openconfig-if-ethernet:${IF_SPEED === 1_000_000_000 ? 'SPEED_1GB' : 'SPEED_UNKNOWN'}`,
      },
    });
  }
  const component = (name: string): Elem[] => [
    ['components', {}],
    ['component', { name }],
  ];
  for (const [, descr, load] of SYNTHETIC_CPUS)
    groups.push({
      prefix: [...component(descr), ['cpu', {}], ['utilization', {}], ['state', {}]],
      leaves: { instant: load },
    });
  for (const [descr, milli] of SYNTHETIC_TEMPERATURES)
    groups.push({
      prefix: [...component(descr), ['state', {}], ['temperature', {}]],
      leaves: { instant: milli / 1000 },
    });
  const [, memDescr, unit, size, used] = SYNTHETIC_STORAGE[0];
  groups.push({
    prefix: [...component(memDescr), ['state', {}], ['memory', {}]],
    leaves: { available: (size - used) * unit, utilized: used * unit },
  });
  return groups;
}

/** True when `sub` names the group's container or something above it (keys `*` or absent match any). */
function covers(group: readonly Elem[], sub: readonly Elem[]): boolean {
  if (sub.length > group.length) return false;
  return sub.every(([name, key], k) => {
    const [gName, gKey] = group[k] as Elem;
    return name === gName && Object.entries(key).every(([kk, v]) => v === '*' || gKey[kk] === v);
  });
}

/** The leaves of a group a subscription path selects: all, one, or none. */
function select(group: Group, subs: readonly (readonly Elem[])[]): Record<string, Leaf> | undefined {
  let out: Record<string, Leaf> | undefined;
  for (const sub of subs) {
    if (covers(group.prefix, sub)) return { ...group.leaves };
    const leaf = sub[sub.length - 1];
    if (
      leaf !== undefined &&
      sub.length === group.prefix.length + 1 &&
      covers(group.prefix, sub.slice(0, -1))
    ) {
      const value = group.leaves[leaf[0]];
      if (value !== undefined) (out ??= {})[leaf[0]] = value;
    }
  }
  return out;
}

const elems = (p: WirePath | null | undefined): Elem[] =>
  (p?.elem ?? []).map((e) => [e.name ?? '', { ...(e.key ?? {}) }] as const);

const wireElems = (prefix: readonly Elem[]): { name: string; key: Record<string, string> }[] =>
  prefix.map(([name, key]) => ({ name, key: { ...key } }));

/** A leaf as a typed scalar (PROTO encoding). */
function typed(v: Leaf): object {
  if (typeof v === 'bigint') return { uint_val: v.toString() };
  if (typeof v === 'number') return Number.isInteger(v) ? { uint_val: String(v) } : { double_val: v };
  if (typeof v === 'boolean') return { bool_val: v };
  return { string_val: v };
}

/** A group as a notification: JSON containers as one object, PROTO as one update per leaf. */
function notification(
  group: Group,
  leaves: Record<string, Leaf>,
  encoding: string,
  target: string,
  nowMs: number,
): object {
  const timestamp = (BigInt(nowMs) * 1_000_000n).toString();
  const prefix = { elem: wireElems(group.prefix), target };
  if (encoding === 'JSON' || encoding === 'JSON_IETF') {
    // JSON text built by hand: Counter64 values keep every digit (JSON_IETF writes them as strings).
    const body = Object.entries(leaves)
      .map(
        ([k, v]) =>
          `${JSON.stringify(k)}:${typeof v === 'bigint' ? (encoding === 'JSON_IETF' ? `"${v}"` : v.toString()) : JSON.stringify(v)}`,
      )
      .join(',');
    const field = encoding === 'JSON_IETF' ? 'json_ietf_val' : 'json_val';
    return {
      timestamp,
      prefix,
      update: [{ path: { elem: [] }, val: { [field]: Buffer.from(`{${body}}`) } }],
    };
  }
  return {
    timestamp,
    prefix,
    update: Object.entries(leaves).map(([leaf, v]) => ({
      path: { elem: [{ name: leaf, key: {} }] },
      val: typed(v),
    })),
  };
}

export class GnmiSimulator {
  readonly startMs: number;
  private readonly server: grpc.Server;
  private readonly streams = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
  private constructor(
    private readonly options: GnmiSimulatorOptions,
    server: grpc.Server,
    readonly port: number,
  ) {
    this.server = server;
    this.startMs = options.startMs ?? Date.now();
  }

  get address(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  static async start(options: GnmiSimulatorOptions): Promise<GnmiSimulator> {
    const server = new grpc.Server();
    // The handlers are registered before the simulator exists; they run only after start.
    const made: { sim?: GnmiSimulator } = {};
    const handlers: grpc.UntypedServiceImplementation = {
      Capabilities: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, {
          gNMI_version: '0.8.0',
          supported_encodings: ['JSON', 'JSON_IETF', 'PROTO'],
          supported_models: [
            { name: 'openconfig-interfaces', organization: 'OpenConfig working group', version: '3.0.0' },
          ],
        }),
      Get: (
        call: grpc.ServerUnaryCall<{ prefix?: WirePath; path?: WirePath[]; encoding?: string }, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) => {
        try {
          const s = made.sim as GnmiSimulator;
          const req = call.request;
          const d = s.device(req.prefix?.target);
          const subs = (req.path ?? []).map((p) => [...elems(req.prefix), ...elems(p)]);
          cb(null, { notification: s.snapshot(d, req.prefix?.target ?? '', subs, req.encoding ?? 'JSON') });
        } catch (e) {
          cb({ code: grpc.status.INVALID_ARGUMENT, details: errorMessage(e) });
        }
      },
      Subscribe: (call: grpc.ServerDuplexStream<unknown, unknown>) =>
        (made.sim as GnmiSimulator).subscribe(call),
    };
    server.addService(gnmiService().service, handlers);
    const host = options.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
        e === null
          ? resolve(p)
          : reject(
              new PanoptesError(
                'SERVICE_START',
                `gNMI simulator: cannot listen on ${host}:${options.port}: ${e.message}`,
                { cause: e },
              ),
            ),
      ),
    );
    made.sim = new GnmiSimulator(options, server, port);
    return made.sim;
  }

  close(): Promise<void> {
    for (const s of this.streams) s.end();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The device a target name picks (device 1 when none); an unknown name is an error. */
  private device(target: string | undefined): number {
    if (target === undefined || target === '') return 1;
    const d = deviceNumberFromCommunity(target, this.options.devices);
    if (d === undefined)
      throw new PanoptesError(
        'USAGE',
        `no simulated device ${JSON.stringify(target)} (sim-00001 .. sim-${String(this.options.devices).padStart(5, '0')})`,
      );
    return d;
  }

  private snapshot(
    d: number,
    target: string,
    subs: readonly (readonly Elem[])[],
    encoding: string,
  ): object[] {
    const now = Date.now();
    const out: object[] = [];
    for (const g of syntheticGnmiGroups(d, this.options.interfaces, now - this.startMs)) {
      const leaves = select(g, subs);
      if (leaves !== undefined) out.push(notification(g, leaves, encoding, target, now));
    }
    return out;
  }

  private subscribe(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    this.streams.add(call);
    let timer: NodeJS.Timeout | undefined;
    let list:
      | {
          prefix?: WirePath;
          subscription?: { path?: WirePath; mode?: string; sample_interval?: string }[];
          mode?: string;
          encoding?: string;
          updates_only?: boolean;
        }
      | undefined;
    let d = 1;
    let subs: Elem[][] = [];
    const send = (): void => {
      if (list === undefined) return;
      for (const n of this.snapshot(d, list.prefix?.target ?? '', subs, list.encoding ?? 'JSON'))
        call.write({ update: n });
    };
    const stop = (): void => {
      clearInterval(timer);
      this.streams.delete(call);
    };
    call.on('data', (req: { subscribe?: typeof list; poll?: object }) => {
      if (req.subscribe !== undefined && list === undefined) {
        list = req.subscribe;
        try {
          d = this.device(list.prefix?.target);
        } catch (e) {
          call.destroy(Object.assign(new Error(errorMessage(e)), { code: grpc.status.NOT_FOUND }));
          return;
        }
        subs = (list.subscription ?? []).map((s) => [...elems(list?.prefix), ...elems(s.path)]);
        if (list.updates_only !== true) send();
        call.write({ sync_response: true });
        if (list.mode === 'ONCE') {
          stop();
          call.end();
          return;
        }
        if (list.mode !== 'POLL') {
          const intervals = (list.subscription ?? [])
            .filter((s) => s.mode !== 'ON_CHANGE')
            .map((s) => Number(BigInt(s.sample_interval ?? '0') / 1_000_000n))
            .filter((ms) => ms > 0);
          const sampled = (list.subscription ?? []).some((s) => s.mode !== 'ON_CHANGE');
          if (sampled)
            timer = setInterval(send, intervals.length > 0 ? Math.max(100, Math.min(...intervals)) : 10_000);
        }
      } else if (req.poll !== undefined && list?.mode === 'POLL') {
        send();
        call.write({ sync_response: true });
      }
    });
    call.on('end', () => {
      stop();
      call.end();
    });
    call.on('error', stop);
    call.on('cancelled', stop);
  }
}
