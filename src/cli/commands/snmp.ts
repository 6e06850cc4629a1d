/**
 * `panoptes snmp get|walk TARGET OID... [options]`
 *
 * Prints one snmprec line per varbind (`OID|tag|value`) on stdout, in walk order. Exceptions
 * (noSuchObject, noSuchInstance, endOfMibView) go to stderr as `OID: noSuchInstance`. Exit 0 on
 * success, 1 on timeout or an error answer, 2 on a usage error.
 */
import { PanoptesError, isPanoptesError } from '../../errors.js';
import { SnmpEngine } from '../../snmp/engine.js';
import { parseOid } from '../../snmp/oid.js';
import type { SnmpSessionOptions, V3Level } from '../../snmp/session.js';
import { formatSnmprec } from '../../snmp/snmprec.js';
import { SnmpTag, isException } from '../../snmp/types.js';
import type { Varbind } from '../../snmp/types.js';
import type { SnmpCliOptions } from '../args.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';

/** `host`, `host:port`, `[v6]` or `[v6]:port`. */
export function parseTarget(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const host = m?.[1];
  const port = m?.[2] === undefined ? 161 : Number(m[2]);
  if (host === undefined || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PanoptesError('USAGE', `invalid target "${text}": expected host[:port], e.g. 127.0.0.1:161`);
  }
  return { host, port };
}

function sessionOptions(targetText: string, o: SnmpCliOptions): SnmpSessionOptions {
  const target = parseTarget(targetText);
  const base = {
    host: target.host,
    port: target.port,
    version: o.snmpVersion,
    community: o.community,
    timeoutMs: o.timeout,
    retries: o.retries,
    maxRepetitions: o.maxRepetitions,
  };
  if (o.snmpVersion !== '3') return base;
  if (o.securityName === undefined) throw new PanoptesError('USAGE', 'SNMPv3 needs --security-name');
  const level: V3Level =
    o.securityLevel ??
    (o.privKey !== undefined ? 'authPriv' : o.authKey !== undefined ? 'authNoPriv' : 'noAuthNoPriv');
  return {
    ...base,
    v3: {
      user: o.securityName,
      level,
      ...(o.authProtocol === undefined ? {} : { authProtocol: o.authProtocol }),
      ...(o.authKey === undefined ? {} : { authKey: o.authKey }),
      ...(o.privProtocol === undefined ? {} : { privProtocol: o.privProtocol }),
      ...(o.privKey === undefined ? {} : { privKey: o.privKey }),
      ...(o.context === undefined ? {} : { context: o.context }),
    },
  };
}

/** RFC 3416 spellings. */
const EXCEPTION_NAMES: ReadonlyMap<number, string> = new Map([
  [SnmpTag.NoSuchObject, 'noSuchObject'],
  [SnmpTag.NoSuchInstance, 'noSuchInstance'],
  [SnmpTag.EndOfMibView, 'endOfMibView'],
]);

/**
 * snmprec lines, formatted as the answers arrive and written when an operation has succeeded
 * (a walk that fails half-way prints nothing of that walk, as before). The text is kept in
 * chunks of about 64 KB: a whole-device walk of tens of thousands of varbinds holds its text,
 * not its varbinds, and costs one write per chunk instead of one per line. Exceptions go to
 * stderr at once.
 */
class Printer {
  private readonly chunks: string[] = [];
  private chunk = '';

  constructor(private readonly io: CliIo) {}

  add(varbinds: readonly Varbind[]): void {
    for (let i = 0; i < varbinds.length; i++) {
      const vb = varbinds[i] as Varbind;
      if (isException(vb.type)) {
        this.io.err(`${vb.oid}: ${EXCEPTION_NAMES.get(vb.type) ?? `type ${vb.type}`}\n`);
        continue;
      }
      const line = formatSnmprec(vb);
      if (line === undefined) continue;
      this.chunk += `${line}\n`;
      if (this.chunk.length >= 65_536) {
        this.chunks.push(this.chunk);
        this.chunk = '';
      }
    }
  }

  /** Writes what was added since the last write. */
  write(): void {
    if (this.chunk.length > 0) this.chunks.push(this.chunk);
    for (const c of this.chunks) this.io.out(c);
    this.chunks.length = 0;
    this.chunk = '';
  }
}

/** Runs `snmp get` or `snmp walk`; returns the exit status. */
export async function runSnmp(
  operation: 'get' | 'walk',
  target: string,
  oidTexts: readonly string[],
  options: SnmpCliOptions,
  io: CliIo = processIo,
): Promise<number> {
  let engine: SnmpEngine | undefined;
  const printer = new Printer(io);
  try {
    const oids = oidTexts.map(parseOid);
    const opts = sessionOptions(target, options);
    engine = new SnmpEngine({ decodeWorkers: options.decodeWorkers, sockets: 1 });
    const session = engine.session(opts);
    if (operation === 'get') {
      printer.add(await session.get(oids));
      printer.write();
    } else {
      for (const oid of oids) {
        await session.walkEach(oid, (varbinds) => printer.add(varbinds));
        printer.write();
      }
    }
    await session.close();
    return EXIT.OK;
  } catch (e) {
    if (!isPanoptesError(e)) throw e;
    io.err(`panoptes snmp ${operation}: ${e.message} [${e.code}]\n`);
    return e.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILED;
  } finally {
    await engine?.close();
  }
}
