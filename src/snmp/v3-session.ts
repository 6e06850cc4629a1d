/**
 * SNMPv3 (USM: MD5/SHA authentication, DES/AES privacy) through the net-snmp package, behind the
 * same SnmpSession interface as v1/v2c. Each v3 session owns a net-snmp session (its own
 * socket): v3 is the exception in large fleets, and USM's engine discovery and keys live there.
 */
import { createRequire } from 'node:module';
import type * as snmp from 'net-snmp';
import { PanoptesError } from '../errors.js';
import { BaseSession, SESSION_DEFAULTS, errorStatusError } from './session.js';
import type { SnmpSessionOptions, SnmpVersionName } from './session.js';
import type { SnmpTagValue, Varbind, VarbindValue } from './types.js';
import { SnmpTag } from './types.js';

function toVarbind(vb: snmp.Varbind): Varbind {
  const type = vb.type as SnmpTagValue;
  let value: VarbindValue;
  const raw: unknown = vb.value;
  switch (type) {
    case SnmpTag.Counter64: {
      const bytes = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
      value = bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
      break;
    }
    case SnmpTag.OctetString:
    case SnmpTag.Opaque:
      value = Buffer.isBuffer(raw) ? raw : Buffer.from(typeof raw === 'string' ? raw : '', 'utf8');
      break;
    case SnmpTag.Integer32:
    case SnmpTag.Counter32:
    case SnmpTag.Gauge32:
    case SnmpTag.TimeTicks:
      value = Number(raw);
      break;
    case SnmpTag.ObjectIdentifier:
    case SnmpTag.IpAddress:
      value = String(raw);
      break;
    default:
      value = null;
  }
  return { oid: vb.oid, type, value };
}

type NetSnmp = typeof snmp;
let loaded: NetSnmp | undefined;

/**
 * The net-snmp package, loaded by the first v3 session: v1/v2c never need it, and commands that
 * poll only v2c devices (`panoptes snmp walk`) start without it.
 */
function netSnmp(): NetSnmp {
  loaded ??= createRequire(import.meta.url)('net-snmp') as NetSnmp;
  return loaded;
}

export class V3Session extends BaseSession {
  readonly device: string;
  protected readonly version: SnmpVersionName = '3';
  private readonly session: snmp.Session;
  private readonly privProtocol: 'des' | 'aes' | undefined;
  private closed = false;

  constructor(
    options: SnmpSessionOptions,
    private readonly onClose: () => void,
  ) {
    super(options);
    const v3 = options.v3;
    if (v3 === undefined) throw new PanoptesError('USAGE', 'SNMPv3 needs a user (security name) and a level');
    this.privProtocol = v3.level === 'authPriv' ? (v3.privProtocol ?? 'aes') : undefined;
    const port = options.port ?? SESSION_DEFAULTS.port;
    this.device = `${options.host}:${port}`;
    const lib = netSnmp();
    // net-snmp's SecurityLevel names are the levels' names.
    const user: snmp.User = { name: v3.user, level: lib.SecurityLevel[v3.level] };
    if (v3.level !== 'noAuthNoPriv') {
      if (v3.authKey === undefined)
        throw new PanoptesError('USAGE', `SNMPv3 level ${v3.level} needs an auth key`);
      user.authProtocol = v3.authProtocol === 'md5' ? lib.AuthProtocols.md5 : lib.AuthProtocols.sha;
      user.authKey = v3.authKey;
    }
    if (v3.level === 'authPriv') {
      if (v3.privKey === undefined)
        throw new PanoptesError('USAGE', 'SNMPv3 level authPriv needs a privacy key');
      user.privProtocol = v3.privProtocol === 'des' ? lib.PrivProtocols.des : lib.PrivProtocols.aes;
      user.privKey = v3.privKey;
    }
    this.session = lib.createV3Session(options.host, user, {
      port,
      version: lib.Version3,
      timeout: options.timeoutMs ?? SESSION_DEFAULTS.timeoutMs,
      retries: options.retries ?? SESSION_DEFAULTS.retries,
      ...(v3.context === undefined ? {} : { context: v3.context }),
    });
    this.session.on('error', () => {
      // Socket errors surface as failed requests.
    });
  }

  private convertError(e: unknown, oids: readonly string[]): Error {
    const code = (e as { code?: unknown } | null)?.code;
    if (
      this.privProtocol === 'des' &&
      (code === 'ERR_OSSL_EVP_UNSUPPORTED' || /unsupported/i.test(String(e)))
    ) {
      return new PanoptesError(
        'CONFIG_INVALID',
        `${this.device}: SNMPv3 DES privacy is not available in this Node.js: its OpenSSL 3 keeps DES in the ` +
          `legacy provider. Start node with --openssl-legacy-provider (e.g. NODE_OPTIONS=--openssl-legacy-provider) ` +
          `or use AES privacy.`,
        { cause: e, details: { device: this.device } },
      );
    }
    if (e instanceof Error && e.name === 'RequestTimedOutError') {
      return new PanoptesError('SNMP_TIMEOUT', `no answer from ${this.device} (SNMPv3)`, {
        cause: e,
        details: { device: this.device },
      });
    }
    if (e instanceof Error && e.name === 'ResponseInvalidError' && (e as { code?: unknown }).code === 5) {
      // EAuthFailure: a USM report (unknown user or engine, wrong digest, decryption error).
      return new PanoptesError(
        'SNMP_AUTH',
        `${this.device} (SNMPv3) rejected the credentials: ${e.message}`,
        {
          cause: e,
          details: { device: this.device },
        },
      );
    }
    if (e instanceof netSnmp().RequestFailedError) {
      return errorStatusError(this.device, e.status ?? 5, 0, oids);
    }
    const message = e instanceof Error ? e.message : String(e);
    return new PanoptesError('SNMP_ERROR_STATUS', `${this.device} (SNMPv3): ${message}`, { cause: e });
  }

  private call(
    oids: readonly string[],
    run: (cb: (error: Error | null, varbinds?: snmp.Varbind[]) => void) => void,
  ): Promise<Varbind[]> {
    return new Promise((resolve, reject) => {
      run((error, varbinds) => {
        if (error !== null && error !== undefined) reject(this.convertError(error, oids));
        else resolve((varbinds ?? []).map(toVarbind));
      });
    });
  }

  get(oids: readonly string[]): Promise<Varbind[]> {
    return this.call(oids, (cb) => this.session.get([...oids], cb));
  }

  getNext(oids: readonly string[]): Promise<Varbind[]> {
    return this.call(oids, (cb) => this.session.getNext([...oids], cb));
  }

  /**
   * net-snmp hands back the non-repeaters, then one array per repeater OID; this re-interleaves
   * them row by row, as they travel on the wire, filling a column that ended early with
   * endOfMibView so positions stay aligned.
   */
  getBulk(oids: readonly string[], nonRepeaters: number, maxRepetitions: number): Promise<Varbind[]> {
    return new Promise((resolve, reject) => {
      this.session.getBulk([...oids], nonRepeaters, maxRepetitions, (error, varbinds) => {
        if (error !== null && error !== undefined) {
          reject(this.convertError(error, oids));
          return;
        }
        const list = varbinds ?? [];
        const out: Varbind[] = [];
        const columns: snmp.Varbind[][] = [];
        list.forEach((entry, i) => {
          if (i < nonRepeaters && !Array.isArray(entry)) out.push(toVarbind(entry));
          else columns.push(Array.isArray(entry) ? entry : [entry]);
        });
        const rows = Math.max(0, ...columns.map((c) => c.length));
        for (let r = 0; r < rows; r++) {
          columns.forEach((column, c) => {
            const vb = column[r];
            out.push(
              vb === undefined
                ? { oid: oids[nonRepeaters + c] ?? '', type: SnmpTag.EndOfMibView, value: null }
                : toVarbind(vb),
            );
          });
        }
        resolve(out);
      });
    });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.session.close();
      this.onClose();
    }
    return Promise.resolve();
  }
}
