/**
 * A second net-snmp snmpd for SNMPv3 tests, modelled on test/services/snmpd.ts: free loopback UDP
 * port, its own config and persistent directory (USM users are created from `createUser` lines
 * at start and written there), and a v2c community only so that readiness can be probed the
 * same way as for the other agents.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, makeTempDir, requireBinary } from '../services/managed-process.js';
import { freeUdpPort } from '../services/ports.js';
import { snmpGet } from '../services/snmp-probe.js';

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

export interface SnmpdV3Service {
  readonly host: string;
  readonly port: number;
  /** A v2c community (for the readiness probe and for comparisons). */
  readonly community: string;
  readonly sysLocation: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';

export async function startSnmpdV3(): Promise<SnmpdV3Service> {
  const command = requireBinary('snmpd', 'snmpd');
  const port = await freeUdpPort();
  const workDir = await makeTempDir('snmpd-v3');
  const persistDir = join(workDir, 'persist');
  await mkdir(persistDir);
  const community = `probe-${port}`;
  const sysLocation = `panoptes-v3-test-${port}`;
  const users: V3User[] = Object.values(V3_USERS);
  const config = [
    `agentAddress udp:127.0.0.1:${port}`,
    `rocommunity ${community} 127.0.0.1`,
    ...users.flatMap((u) => [
      `createUser ${u.name} ${u.authProtocol} ${u.authKey}${
        u.privProtocol === undefined ? '' : ` ${u.privProtocol} ${u.privKey ?? ''}`
      }`,
      `rouser ${u.name} ${u.privProtocol === undefined ? 'auth' : 'priv'}`,
    ]),
    `sysLocation ${sysLocation}`,
    'sysContact panoptes-v3-tests@localhost',
    '',
  ].join('\n');
  const configFile = join(workDir, 'snmpd.conf');
  await writeFile(configFile, config);
  const proc = ManagedProcess.start({
    name: 'snmpd-v3',
    command,
    args: ['-f', '-C', '-c', configFile, '-Lo', '-p', join(workDir, 'snmpd.pid')],
    workDir,
    env: { SNMP_PERSISTENT_DIR: persistDir, MIBS: '' },
  });
  try {
    await proc.waitUntil('it answers a GET', async () => {
      const vbs = await snmpGet('127.0.0.1', port, community, [SYS_UPTIME], 500);
      return vbs.length > 0 ? true : undefined;
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { host: '127.0.0.1', port, community, sysLocation, process: proc, stop: () => proc.stop() };
}
