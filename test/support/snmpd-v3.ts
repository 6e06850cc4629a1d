/**
 * A second net-snmp snmpd for SNMPv3 tests: the test service of test/services/snmpd.ts with USM
 * users added by `createUser` lines (snmpd keeps them in its own persistent directory), and a v2c
 * community only so that readiness can be probed the same way as for the other agents.
 */
import { startSnmpd } from '../services/snmpd.js';
import type { SnmpdService } from '../services/snmpd.js';

export interface V3User {
  readonly name: string;
  readonly authProtocol: 'MD5' | 'SHA';
  readonly authKey: string;
  readonly privProtocol?: 'DES' | 'AES';
  readonly privKey?: string;
}

export const V3_USERS = {
  shaAes: {
    name: 'panoptesv3',
    authProtocol: 'SHA',
    authKey: 'authpass123',
    privProtocol: 'AES',
    privKey: 'privpass123',
  },
  md5Aes: {
    name: 'panoptesmd5',
    authProtocol: 'MD5',
    authKey: 'authpass456',
    privProtocol: 'AES',
    privKey: 'privpass456',
  },
  md5Des: {
    name: 'panoptesdes',
    authProtocol: 'MD5',
    authKey: 'authpass321',
    privProtocol: 'DES',
    privKey: 'privpass321',
  },
  authOnly: { name: 'panoptesauth', authProtocol: 'SHA', authKey: 'authpass789' },
} as const satisfies Record<string, V3User>;

/** The second agent is a plain test snmpd; its community serves the readiness probe. */
export type SnmpdV3Service = SnmpdService;

export async function startSnmpdV3(): Promise<SnmpdV3Service> {
  const users: V3User[] = Object.values(V3_USERS);
  return startSnmpd({
    name: 'snmpd-v3',
    community: 'panoptes-v3-probe',
    extraConfig: users.flatMap((u) => [
      `createUser ${u.name} ${u.authProtocol} ${u.authKey}${
        u.privProtocol === undefined ? '' : ` ${u.privProtocol} ${u.privKey ?? ''}`
      }`,
      `rouser ${u.name} ${u.privProtocol === undefined ? 'auth' : 'priv'}`,
    ]),
  });
}
