/**
 * net-snmp's real agent, snmpd, on a free loopback UDP port with a generated configuration:
 * one read-only community, answering 127.0.0.1 only, and a known sysLocation/sysContact so
 * tests can tell they reached this agent and not another.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeUdpPort } from './ports.js';
import { snmpGet } from './snmp-probe.js';

export interface SnmpdService {
  readonly host: string;
  readonly port: number;
  readonly community: string;
  readonly sysLocation: string;
  readonly sysContact: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface SnmpdOptions {
  readonly community?: string;
  /** More snmpd.conf lines, e.g. `createUser` and `rouser` for SNMPv3 users. */
  readonly extraConfig?: readonly string[];
  /** Names the process and its temporary directory. Default snmpd. */
  readonly name?: string;
}

const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';

export async function startSnmpd(options: SnmpdOptions = {}): Promise<SnmpdService> {
  const command = requireBinary('snmpd', 'snmpd');
  const community = options.community ?? 'panoptes-ro';
  const port = await freeUdpPort();
  const name = options.name ?? 'snmpd';
  const workDir = await makeTempDir(name);
  const sysLocation = `panoptes-test-${port}`;
  const sysContact = 'panoptes-tests@localhost';
  const config = [
    `agentAddress udp:127.0.0.1:${port}`,
    `rocommunity ${community} 127.0.0.1`,
    `sysLocation ${sysLocation}`,
    `sysContact ${sysContact}`,
    ...(options.extraConfig ?? []),
    '',
  ].join('\n');
  const configFile = join(workDir, 'snmpd.conf');
  await writeFile(configFile, config);
  const proc = ManagedProcess.start({
    name,
    command,
    // -f foreground, -C only our config file, -Lo log to stdout (our log file). The persistent
    // directory (where SNMPv3 users created by createUser are kept) is snmpd's to create.
    args: ['-f', '-C', '-c', configFile, '-Lo', '-p', join(workDir, 'snmpd.pid')],
    workDir,
    env: { SNMP_PERSISTENT_DIR: join(workDir, 'persist'), MIBS: '' },
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
  return {
    host: '127.0.0.1',
    port,
    community,
    sysLocation,
    sysContact,
    process: proc,
    stop: () => proc.stop(),
  };
}
