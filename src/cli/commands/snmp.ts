/**
 * `panoptes snmp get|walk TARGET OID... [options]`
 *
 * Prints one snmprec line per varbind (`OID|tag|value`) on stdout, in walk order. Exceptions
 * (noSuchObject, noSuchInstance, endOfMibView) go to stderr as `OID: noSuchInstance`. Exit 0 on
 * success, 1 on timeout or an error answer, 2 on a usage error.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { PanoptesError, isPanoptesError } from '../../errors.js';
import { SnmpEngine } from '../../snmp/engine.js';
import { parseOid } from '../../snmp/oid.js';
import type { SnmpSessionOptions, V3Level } from '../../snmp/session.js';
import { formatSnmprec } from '../../snmp/snmprec.js';
import { SnmpTag, isException } from '../../snmp/types.js';
import type { Varbind } from '../../snmp/types.js';
import { EXIT, processIo } from '../io.js';
import type { CliIo } from '../io.js';

export interface SnmpCliOptions {
  readonly community: string;
  readonly snmpVersion: '1' | '2c' | '3';
  readonly maxRepetitions: number;
  readonly timeout: number;
  readonly retries: number;
  readonly decodeWorkers: number;
  readonly securityName?: string;
  readonly securityLevel?: V3Level;
  readonly authProtocol?: 'md5' | 'sha';
  readonly authKey?: string;
  readonly privProtocol?: 'des' | 'aes';
  readonly privKey?: string;
  readonly context?: string;
}

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

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
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

function print(varbinds: readonly Varbind[], io: CliIo): void {
  const lines: string[] = [];
  for (const vb of varbinds) {
    if (isException(vb.type)) {
      io.err(`${vb.oid}: ${EXCEPTION_NAMES.get(vb.type) ?? `type ${vb.type}`}\n`);
      continue;
    }
    const line = formatSnmprec(vb);
    if (line !== undefined) lines.push(line);
    if (lines.length >= 1000) {
      io.out(`${lines.join('\n')}\n`);
      lines.length = 0;
    }
  }
  if (lines.length > 0) io.out(`${lines.join('\n')}\n`);
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
  try {
    const oids = oidTexts.map(parseOid);
    const opts = sessionOptions(target, options);
    engine = new SnmpEngine({ decodeWorkers: options.decodeWorkers, sockets: 1 });
    const session = engine.session(opts);
    if (operation === 'get') {
      print(await session.get(oids), io);
    } else {
      for (const oid of oids) print(await session.walk(oid), io);
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

function addOptions(cmd: Command): Command {
  return cmd
    .option('-c, --community <community>', 'SNMPv1/v2c community', 'public')
    .addOption(
      new Option('-v, --snmp-version <version>', 'SNMP version').choices(['1', '2c', '3']).default('2c'),
    )
    .option(
      '--max-repetitions <n>',
      'GETBULK max-repetitions for walks',
      integer('--max-repetitions', 1, 1000),
      25,
    )
    .option(
      '-t, --timeout <ms>',
      'timeout per attempt in milliseconds',
      integer('--timeout', 1, 600_000),
      2000,
    )
    .option('-r, --retries <n>', 'attempts after the first', integer('--retries', 0, 20), 1)
    .option(
      '--decode-workers <n>',
      'worker threads decoding answers (0 = inline)',
      integer('--decode-workers', 0, 64),
      0,
    )
    .option('-u, --security-name <user>', 'SNMPv3 user')
    .addOption(
      new Option('-l, --security-level <level>', 'SNMPv3 level (default from the keys given)').choices([
        'noAuthNoPriv',
        'authNoPriv',
        'authPriv',
      ]),
    )
    .addOption(
      new Option('-a, --auth-protocol <protocol>', 'SNMPv3 authentication')
        .choices(['md5', 'sha'])
        .default('sha'),
    )
    .option('-A, --auth-key <key>', 'SNMPv3 authentication pass phrase')
    .addOption(
      new Option('-x, --priv-protocol <protocol>', 'SNMPv3 privacy').choices(['des', 'aes']).default('aes'),
    )
    .option('-X, --priv-key <key>', 'SNMPv3 privacy pass phrase')
    .option('-n, --context <name>', 'SNMPv3 context name');
}

export function registerSnmp(program: Command, setExitCode: (code: number) => void): void {
  const snmp = program
    .command('snmp')
    .description('query an SNMP agent: get values or walk subtrees, printed as snmprec lines');

  addOptions(
    snmp
      .command('get')
      .description('GET the given OIDs')
      .argument('<target>', 'host[:port] (default port 161)')
      .argument('<oid...>', 'OIDs, with or without a leading dot'),
  ).action(async (target: string, oids: string[], opts: SnmpCliOptions) => {
    setExitCode(await runSnmp('get', target, oids, opts));
  });

  addOptions(
    snmp
      .command('walk')
      .description('walk the subtrees under the given OIDs (GETBULK for v2c/v3, GETNEXT for v1)')
      .argument('<target>', 'host[:port] (default port 161)')
      .argument('<oid...>', 'subtree roots, with or without a leading dot'),
  )
    .addHelpText(
      'after',
      `
Output: OID|tag|value per varbind: 2 Integer32, 4 OctetString (printable ASCII; else 4x hex),
5 Null, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68x Opaque (hex),
70 Counter64 (exact). Exceptions go to stderr. Exit 0 success, 1 timeout or error, 2 usage.

Example:
  panoptes snmp walk 127.0.0.1:1161 1.3.6.1.2.1.2.2.1 -c public --max-repetitions 50`,
    )
    .action(async (target: string, oids: string[], opts: SnmpCliOptions) => {
      setExitCode(await runSnmp('walk', target, oids, opts));
    });
}
