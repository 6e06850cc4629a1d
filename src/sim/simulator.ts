/**
 * An SNMP v1/v2c agent simulator: the load generator for benchmarks and the device fleet for
 * tests. It serves synthetic devices (see synthetic.ts) and recorded devices (`*.snmprec` files,
 * community = file name without the extension; a recording wins over a synthetic device of the
 * same community).
 *
 * Devices are told apart by community on one port (the default), or, with `portPerDevice`, by
 * port: every device answers on its own UDP port under one shared community, as tools that take
 * one community per target set (Prometheus snmp_exporter) need.
 *
 * Requests: GetRequest, GetNextRequest and (v2c) GetBulkRequest. Anything else, malformed
 * packets and unknown communities get no answer, as from a real agent; the stats count them.
 *
 *   v2c  missing OID: noSuchInstance when the device has an OID with the same parent, else
 *        noSuchObject; past the end: endOfMibView. GetBulk per RFC 3416 4.2.3, stopping after the
 *        first round in which every repeater is at the end, the list truncated to fit the maximum
 *        message size. A Get/GetNext response that does not fit: tooBig, error-index 0, no varbinds.
 *   v1   missing OID or past the end: noSuchName with the 1-based index of the first offending
 *        varbind and the request's varbinds echoed. Counter64 values are invisible (RFC 3584):
 *        GetNext skips them, Get answers noSuchName.
 *
 * Speed: each device's OIDs are sorted once, their TLVs (and whole varbinds whose value never
 * changes) pre-encoded; GetNext is a map hit when the OID is one we returned (a walk), else a
 * binary search; values are written straight into one reused BerWriter.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { readdir, readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { basename, join } from 'node:path';
import { errorMessage, PanoptesError } from '../errors.js';
import { BerTag, BerWriter, encodeOidTlv } from '../snmp/ber.js';
import { compareOids } from '../snmp/oid.js';
import { decodeMessage, writeValue } from '../snmp/pdu.js';
import type { SnmpMessage } from '../snmp/pdu.js';
import { parseSnmprec } from '../snmp/snmprec.js';
import { PduType, SnmpTag } from '../snmp/types.js';
import {
  buildTable,
  Kind,
  MAX_SYNTHETIC_DEVICES,
  MAX_SYNTHETIC_INTERFACES,
  syntheticCommunity,
  syntheticTable,
  valueTlv,
  writeSyntheticValue,
} from './synthetic.js';
import type { MibTable, TableEntry } from './synthetic.js';

import { DEFAULT_MAX_MESSAGE_SIZE, MIN_MAX_MESSAGE_SIZE } from './limits.js';

export { DEFAULT_MAX_MESSAGE_SIZE, MIN_MAX_MESSAGE_SIZE };

export interface SyntheticFleet {
  readonly devices: number;
  readonly interfaces: number;
  /** Also answer the device-health set (CPU, memory, storage, load, temperatures). Default false. */
  readonly health?: boolean;
}

export interface SimulatorOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** UDP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Directory of `*.snmprec` files; community = file name without the extension. */
  readonly dataDir?: string;
  /** Synthetic devices sim-00001 .. sim-N, each with M interfaces. */
  readonly synthetic?: SyntheticFleet;
  /** Largest response in bytes (default 65507). */
  readonly maxMessageSize?: number;
  /** Milliseconds since the epoch that counters and sysUpTime count from (default: now). */
  readonly startTime?: number;
  /** The clock, in milliseconds since the epoch (default Date.now); tests pass a fixed one. */
  readonly clock?: () => number;
  /**
   * One UDP port per device instead of one community per device: the k-th device (synthetic
   * devices in order, then recordings by name) answers on `port + k` under `community`; with
   * port 0 the simulator picks a free range.
   */
  readonly portPerDevice?: { readonly community: string };
}

/** How many random ranges to try when `portPerDevice` is asked for with port 0. */
const PORT_RANGE_ATTEMPTS = 20;
/** Random ranges are drawn from here, below the usual ephemeral ports. */
const PORT_RANGE_LOW = 20_000;
const PORT_RANGE_HIGH = 32_000;

export interface SimulatorStats {
  /** Datagrams received. */
  readonly requests: number;
  /** Responses sent. */
  readonly responses: number;
  /** Varbinds in the responses. */
  readonly varbinds: number;
  /** Datagrams that do not decode as SNMP v1/v2c messages (v3 included). */
  readonly malformed: number;
  /** Well-formed messages we do not answer: Set, Response, Trap, GetBulk in v1, ... */
  readonly dropped: number;
  /** Messages for a community that no device has. */
  readonly unknownCommunity: number;
  /** Get/GetNext answered tooBig, and GetBulk responses shortened to fit. */
  readonly tooBig: number;
  /** Responses the socket failed to send. */
  readonly sendErrors: number;
}

/** In port-per-device mode: the device a port serves and the community it answers to. */
export interface PortDevice {
  readonly community: string;
  readonly device: SimulatedDevice;
}

/** A device: its MIB view and, for synthetic devices, its number (0 for recordings). */
export interface SimulatedDevice {
  readonly community: string;
  readonly table: MibTable;
  readonly number: number;
}

const EXC_NO_SUCH_OBJECT = -1;
const EXC_NO_SUCH_INSTANCE = -2;
const EXC_END_OF_MIB_VIEW = -3;
/** The value tag of an exception code: -1 -> 0x80, -2 -> 0x81, -3 -> 0x82. */
const EXC_TAG_BASE = 0x7f;

const ERROR_TOO_BIG = 1;
const ERROR_NO_SUCH_NAME = 2;

function lengthOfLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
}

function tlvSize(contentLength: number): number {
  return 1 + lengthOfLength(contentLength) + contentLength;
}

/** Size of an INTEGER TLV as writeInteger writes it. */
function integerSize(v: number): number {
  if (v > 0x7fffffff) return 7; // unsigned, with a leading 0x00
  let n = 1;
  let x = v | 0;
  for (;;) {
    const b = x & 0xff;
    x >>= 8;
    if ((x === 0 && (b & 0x80) === 0) || (x === -1 && (b & 0x80) !== 0)) return n + 2;
    n++;
  }
}

/**
 * Size of a whole response message: `fixed` is the size of the version, community and request-id
 * TLVs, `listLength` the bytes of the varbinds.
 */
function messageSize(fixed: number, listLength: number, errorStatus: number, errorIndex: number): number {
  return tlvSize(fixed + tlvSize(integerSize(errorStatus) + integerSize(errorIndex) + tlvSize(listLength)));
}

/** A request-id of 2^31 or more (some managers send them unsigned) goes back as it came. */
function writeInteger(w: BerWriter, v: number): void {
  if (v > 0x7fffffff) w.unsigned(BerTag.Integer, v);
  else w.integer(BerTag.Integer, v);
}

function parentOf(oid: string): string {
  return oid.slice(0, oid.lastIndexOf('.'));
}

/** Index of the first OID after `oid` (size when none). */
function nextIndex(table: MibTable, oid: string): number {
  const exact = table.index.get(oid);
  if (exact !== undefined) return exact + 1;
  const oids = table.oids;
  let lo = 0;
  let hi = table.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOids(oids[mid] as string, oid) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The protocol engine without a socket: request bytes in, response bytes (or nothing) out. It
 * reuses one writer and scratch arrays, so each call must finish before the next (it is synchronous).
 */
export class SimulatedAgent {
  readonly maxMessageSize: number;
  readonly startTime: number;
  private readonly clock: () => number;
  private readonly devices: ReadonlyMap<string, SimulatedDevice>;
  private readonly w = new BerWriter(65_536);
  /** Per response varbind: an entry index, or a negative exception code. */
  private res = new Int32Array(1024);
  /** Per response varbind with an exception: the OID TLV to answer with. */
  private readonly resName: Uint8Array[] = [];
  /** Writer length after each varbind, for shortening GetBulk responses. */
  private ends = new Int32Array(1025);
  private repPos = new Int32Array(64);
  private readonly repName: Uint8Array[] = [];
  private readonly counts = {
    requests: 0,
    responses: 0,
    varbinds: 0,
    malformed: 0,
    dropped: 0,
    unknownCommunity: 0,
    tooBig: 0,
    sendErrors: 0,
  };

  constructor(
    devices: ReadonlyMap<string, SimulatedDevice>,
    options: { maxMessageSize?: number; startTime?: number; clock?: () => number } = {},
  ) {
    this.devices = devices;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.clock = options.clock ?? Date.now;
    this.startTime = options.startTime ?? this.clock();
  }

  stats(): SimulatorStats {
    return { ...this.counts };
  }

  /** Counts a response the socket could not send. */
  sendFailed(): void {
    this.counts.sendErrors++;
  }

  /**
   * The response to one request datagram, or undefined when it gets none. `portDevice` is the
   * device of the port the datagram came in on (port-per-device mode): the request must carry its
   * community, and the community no longer selects the device.
   */
  respond(packet: Uint8Array, portDevice?: PortDevice): Buffer | undefined {
    const c = this.counts;
    c.requests++;
    let msg: SnmpMessage;
    try {
      msg = decodeMessage(packet);
    } catch {
      c.malformed++;
      return undefined;
    }
    const type = msg.pduType;
    const v1 = msg.version === 0;
    if (
      type !== PduType.GetRequest &&
      type !== PduType.GetNextRequest &&
      (type !== PduType.GetBulkRequest || v1)
    ) {
      c.dropped++;
      return undefined;
    }
    const community = msg.community;
    const communityText = Buffer.from(community.buffer, community.byteOffset, community.length).toString(
      'latin1',
    );
    const device =
      portDevice === undefined
        ? this.devices.get(communityText)
        : communityText === portDevice.community
          ? portDevice.device
          : undefined;
    if (device === undefined) {
      c.unknownCommunity++;
      return undefined;
    }
    const table = device.table;
    const vbs = msg.varbinds;
    const n = vbs.length;
    let count: number;
    let failed = 0; // v1: 1-based index of the first varbind without a value
    const bulk = type === PduType.GetBulkRequest;

    if (bulk) {
      count = this.resolveBulk(table, msg);
    } else {
      this.grow(n);
      const res = this.res;
      const names = this.resName;
      const isGet = type === PduType.GetRequest;
      for (let j = 0; j < n; j++) {
        const oid = (vbs[j] as (typeof vbs)[number]).oid;
        let k: number;
        if (isGet) {
          const hit = table.index.get(oid);
          if (hit !== undefined && !(v1 && table.counter64[hit] === 1)) {
            k = hit;
          } else {
            k =
              hit === undefined && table.parents.has(parentOf(oid))
                ? EXC_NO_SUCH_INSTANCE
                : EXC_NO_SUCH_OBJECT;
          }
        } else {
          k = nextIndex(table, oid);
          if (v1) k = table.nextV1[k] ?? table.size;
          if (k >= table.size) k = EXC_END_OF_MIB_VIEW;
        }
        if (k < 0) {
          if (v1) {
            failed = j + 1;
            break;
          }
          names[j] = encodeOidTlv(oid);
        }
        res[j] = k;
      }
      count = n;
    }

    const elapsed = Math.max(0, Math.floor(this.clock() - this.startTime));
    const w = this.w;
    w.reset();
    let errorStatus = 0;
    let errorIndex = 0;
    if (failed > 0) {
      errorStatus = ERROR_NO_SUCH_NAME;
      errorIndex = failed;
      for (let j = n - 1; j >= 0; j--) {
        const vb = vbs[j] as (typeof vbs)[number];
        const mark = w.length;
        writeValue(w, vb.type, vb.value);
        w.oid(vb.oid);
        w.wrap(BerTag.Sequence, mark);
      }
      count = n;
    } else {
      this.writeVarbinds(device, count, elapsed);
    }

    const max = this.maxMessageSize;
    const fixed = integerSize(msg.version) + tlvSize(community.length) + integerSize(msg.requestId);
    if (messageSize(fixed, w.length, errorStatus, errorIndex) > max) {
      c.tooBig++;
      if (bulk) {
        const ends = this.ends;
        const total = ends[0] ?? 0;
        let k = count - 1;
        while (k > 0 && messageSize(fixed, total - (ends[k] ?? 0), 0, 0) > max) k--;
        const keep = k > 0 ? total - (ends[k] ?? 0) : 0;
        const prefix = Buffer.from(w.result().subarray(0, keep));
        w.reset();
        w.bytes(prefix);
        count = k;
      } else {
        w.reset();
        errorStatus = ERROR_TOO_BIG;
        errorIndex = 0;
        count = 0;
      }
      if (messageSize(fixed, w.length, errorStatus, errorIndex) > max) {
        c.dropped++;
        return undefined;
      }
    }

    w.wrap(BerTag.Sequence, 0);
    w.integer(BerTag.Integer, errorIndex);
    w.integer(BerTag.Integer, errorStatus);
    writeInteger(w, msg.requestId);
    w.wrap(PduType.Response, 0);
    w.octets(BerTag.OctetString, community);
    w.integer(BerTag.Integer, msg.version);
    w.wrap(BerTag.Sequence, 0);
    c.responses++;
    if (errorStatus === 0) c.varbinds += count;
    return Buffer.from(w.result());
  }

  private grow(n: number): void {
    if (this.res.length >= n) return;
    let size = this.res.length;
    while (size < n) size *= 2;
    const res = new Int32Array(size);
    res.set(this.res);
    this.res = res;
    this.ends = new Int32Array(size + 1);
  }

  /** Fills res/resName for a GetBulk request; returns the number of varbinds. */
  private resolveBulk(table: MibTable, msg: SnmpMessage): number {
    const vbs = msg.varbinds;
    const n = vbs.length;
    const nonRepeaters = Math.min(Math.max(msg.errorStatus, 0), n);
    const repetitions = Math.max(msg.errorIndex, 0);
    const repeaters = n - nonRepeaters;
    const size = table.size;
    const oidTlvs = table.oidTlvs;
    // Stop resolving once even the smallest encoding of the varbinds so far (each its OID plus
    // 4 bytes) exceeds the maximum message size; the encoder then trims the list exactly.
    const budget = this.maxMessageSize;
    let bytes = 0;
    let count = 0;
    this.grow(nonRepeaters + 64);
    for (let j = 0; j < nonRepeaters; j++) {
      const oid = (vbs[j] as (typeof vbs)[number]).oid;
      const k = nextIndex(table, oid);
      if (k < size) {
        this.res[count] = k;
        bytes += (oidTlvs[k] as Uint8Array).length + 4;
      } else {
        this.res[count] = EXC_END_OF_MIB_VIEW;
        const name = encodeOidTlv(oid);
        this.resName[count] = name;
        bytes += name.length + 4;
      }
      count++;
    }
    if (repeaters === 0 || repetitions === 0 || bytes > budget) return count;

    if (this.repPos.length < repeaters) this.repPos = new Int32Array(repeaters * 2);
    const pos = this.repPos;
    const names = this.repName;
    for (let r = 0; r < repeaters; r++) {
      const oid = (vbs[nonRepeaters + r] as (typeof vbs)[number]).oid;
      const k = nextIndex(table, oid);
      pos[r] = k;
      // The name an endOfMibView carries until the repeater has returned something.
      if (k >= size) names[r] = encodeOidTlv(oid);
    }
    for (let round = 0; round < repetitions; round++) {
      this.grow(count + repeaters);
      const res = this.res;
      let ended = 0;
      for (let r = 0; r < repeaters; r++) {
        const k = pos[r] ?? size;
        if (k < size) {
          res[count] = k;
          pos[r] = k + 1;
          const tlv = oidTlvs[k] as Uint8Array;
          if (k + 1 >= size) names[r] = tlv;
          bytes += tlv.length + 4;
        } else {
          res[count] = EXC_END_OF_MIB_VIEW;
          const name = names[r] as Uint8Array;
          this.resName[count] = name;
          bytes += name.length + 4;
          ended++;
        }
        count++;
        if (bytes > budget) return count;
      }
      if (ended === repeaters) break;
    }
    return count;
  }

  /** Writes res[0..count) backwards, recording the writer length after each varbind in `ends`. */
  private writeVarbinds(device: SimulatedDevice, count: number, elapsed: number): void {
    const w = this.w;
    const res = this.res;
    const ends = this.ends;
    const table = device.table;
    const { varbindTlvs, oidTlvs, kinds, ifIndexes } = table;
    const d = device.number;
    ends[count] = 0;
    for (let j = count - 1; j >= 0; j--) {
      const k = res[j] ?? EXC_END_OF_MIB_VIEW;
      if (k >= 0) {
        const pre = varbindTlvs[k];
        if (pre !== undefined) {
          w.raw(pre);
        } else {
          const mark = w.length;
          writeSyntheticValue(w, kinds[k] ?? Kind.Static, d, ifIndexes[k] ?? 0, elapsed);
          w.raw(oidTlvs[k] as Uint8Array);
          w.wrap(BerTag.Sequence, mark);
        }
      } else {
        const mark = w.length;
        w.null(EXC_TAG_BASE - k);
        w.raw(this.resName[j] as Uint8Array);
        w.wrap(BerTag.Sequence, mark);
      }
      ends[j] = w.length;
    }
  }
}

function fail(
  code: 'USAGE' | 'FILE_READ' | 'SERVICE_START',
  message: string,
  cause?: unknown,
): PanoptesError {
  return new PanoptesError(code, message, cause === undefined ? {} : { cause });
}

function checkInteger(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw fail('USAGE', `${name} must be an integer from ${min} to ${max}, got ${v}`);
  }
}

/** The MIB table of one recording (static values); errors name the file and line. */
export function recordingTable(text: string, source: string): MibTable {
  const entries: TableEntry[] = parseSnmprec(text, source).map((r) => ({
    oid: r.oid,
    kind: Kind.Static,
    ifIndex: 0,
    counter64: r.type === SnmpTag.Counter64,
    value: valueTlv((w) => writeValue(w, r.type, r.value)),
  }));
  return buildTable(entries);
}

/**
 * Reads every `*.snmprec` file of a directory: community -> table. A missing directory is a USAGE
 * error (a wrong option), an unreadable file FILE_READ, a bad line MODEL_INVALID naming file and line.
 */
export async function loadRecordings(dir: string): Promise<Map<string, MibTable>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const why = code === 'ENOENT' ? 'no such directory' : 'not a directory';
      throw fail('USAGE', `${dir}: cannot read data directory: ${why}`, e);
    }
    throw fail('FILE_READ', `${dir}: cannot read data directory: ${errorMessage(e)}`, e);
  }
  const out = new Map<string, MibTable>();
  for (const name of names.filter((f) => f.endsWith('.snmprec')).sort()) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw fail('FILE_READ', `${file}: cannot read: ${errorMessage(e)}`, e);
    }
    out.set(basename(name, '.snmprec'), recordingTable(text, file));
  }
  return out;
}

/** Builds the device map: synthetic devices, then recordings (which win on a shared community). */
export function buildDevices(
  synthetic: SyntheticFleet | undefined,
  recordings: ReadonlyMap<string, MibTable>,
): Map<string, SimulatedDevice> {
  const devices = new Map<string, SimulatedDevice>();
  if (synthetic !== undefined) {
    const table = syntheticTable(synthetic.interfaces, synthetic.health === true);
    for (let d = 1; d <= synthetic.devices; d++) {
      const community = syntheticCommunity(d);
      devices.set(community, { community, table, number: d });
    }
  }
  for (const [community, table] of recordings) devices.set(community, { community, table, number: 0 });
  return devices;
}

/** Binds a UDP socket, or rejects with the bind error. */
function bindSocket(host: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  return new Promise<Socket>((resolve, reject) => {
    const onError = (e: Error): void => {
      socket.close();
      reject(e);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** Binds `count` consecutive ports from `base`; on any failure closes what it bound and rethrows. */
async function bindRange(host: string, base: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  try {
    for (let k = 0; k < count; k++) sockets.push(await bindSocket(host, base + k));
    return sockets;
  } catch (e) {
    await Promise.all(sockets.map(closeSocket));
    throw e;
  }
}

/** The simulator: a SimulatedAgent behind a UDP socket (or one socket per device). */
export class SnmpSimulator {
  readonly agent: SimulatedAgent;
  /** Number of recordings (snmprec files) served. */
  readonly recordings: number;
  readonly synthetic: SyntheticFleet | undefined;
  /** The address and (first) port the socket is bound to. */
  readonly address: string;
  readonly port: number;
  /** In port-per-device mode: the community every device answers to; else undefined. */
  readonly sharedCommunity: string | undefined;
  /** Ports in use: one, or one per device in the order of `devices` (port-per-device mode). */
  readonly ports: readonly number[];
  private readonly sockets: readonly Socket[];
  private closed: Promise<void> | undefined;

  private constructor(
    agent: SimulatedAgent,
    sockets: readonly Socket[],
    recordings: number,
    synthetic: SyntheticFleet | undefined,
    sharedCommunity: string | undefined,
  ) {
    this.agent = agent;
    this.sockets = sockets;
    this.ports = sockets.map((s) => s.address().port);
    this.address = (sockets[0] as Socket).address().address;
    this.port = this.ports[0] ?? 0;
    this.recordings = recordings;
    this.synthetic = synthetic;
    this.sharedCommunity = sharedCommunity;
  }

  /** Loads the devices and binds the socket(s); throws PanoptesError USAGE, FILE_READ, MODEL_INVALID or SERVICE_START. */
  static async start(options: SimulatorOptions = {}): Promise<SnmpSimulator> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    checkInteger('port', port, 0, 65_535);
    const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    checkInteger('maxMessageSize', maxMessageSize, MIN_MAX_MESSAGE_SIZE, DEFAULT_MAX_MESSAGE_SIZE);
    const synthetic = options.synthetic;
    if (synthetic !== undefined) {
      checkInteger('synthetic devices', synthetic.devices, 1, MAX_SYNTHETIC_DEVICES);
      checkInteger('synthetic interfaces', synthetic.interfaces, 0, MAX_SYNTHETIC_INTERFACES);
    }
    const shared = options.portPerDevice?.community;
    if (shared !== undefined && shared === '')
      throw fail('USAGE', 'portPerDevice.community must not be empty');
    const recordings =
      options.dataDir === undefined ? new Map<string, MibTable>() : await loadRecordings(options.dataDir);
    const devices = buildDevices(synthetic, recordings);
    const agent = new SimulatedAgent(devices, {
      maxMessageSize,
      ...(options.startTime === undefined ? {} : { startTime: options.startTime }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });

    let sockets: Socket[];
    let portDevices: (PortDevice | undefined)[];
    if (shared === undefined) {
      try {
        sockets = [await bindSocket(host, port)];
      } catch (e) {
        throw fail('SERVICE_START', `cannot listen on ${host}:${port}: ${errorMessage(e)}`, e);
      }
      portDevices = [undefined];
    } else {
      const list = [...devices.values()];
      const count = list.length;
      if (port !== 0 && port + count - 1 > 65_535) {
        throw fail('USAGE', `${count} devices from port ${port} run past port 65535`);
      }
      sockets = [];
      let lastError: unknown;
      const span = PORT_RANGE_HIGH - PORT_RANGE_LOW - count;
      for (let attempt = 0; attempt < (port === 0 ? PORT_RANGE_ATTEMPTS : 1); attempt++) {
        const base = port !== 0 ? port : PORT_RANGE_LOW + Math.floor(Math.random() * Math.max(1, span));
        try {
          sockets = await bindRange(host, base, count);
          break;
        } catch (e) {
          lastError = e;
        }
      }
      if (sockets.length === 0) {
        const where =
          port === 0 ? `${PORT_RANGE_ATTEMPTS} random ranges` : `${host}:${port}-${port + count - 1}`;
        throw fail(
          'SERVICE_START',
          `cannot listen on ${count} consecutive ports (${where}): ${errorMessage(lastError)}`,
          lastError,
        );
      }
      portDevices = list.map((device) => ({ community: shared, device }));
    }
    for (const [k, socket] of sockets.entries()) {
      try {
        socket.setRecvBufferSize(sockets.length === 1 ? 4 * 1024 * 1024 : 256 * 1024);
        socket.setSendBufferSize(sockets.length === 1 ? 4 * 1024 * 1024 : 256 * 1024);
      } catch {
        // The kernel's limits apply; the defaults work, only with more drops under heavy load.
      }
      const portDevice = portDevices[k];
      socket.on('error', () => agent.sendFailed());
      socket.on('message', (packet, peer) => {
        const out = agent.respond(packet, portDevice);
        if (out !== undefined) socket.send(out, peer.port, peer.address);
      });
    }
    return new SnmpSimulator(agent, sockets, recordings.size, synthetic, shared);
  }

  /** Milliseconds since the epoch that counters and sysUpTime count from. */
  get startTime(): number {
    return this.agent.startTime;
  }

  stats(): SimulatorStats {
    return this.agent.stats();
  }

  /** Stops listening; safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= Promise.all(this.sockets.map(closeSocket)).then(() => undefined);
    return this.closed;
  }
}
