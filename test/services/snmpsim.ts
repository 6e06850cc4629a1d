/**
 * snmpsimd serving `.snmprec` recordings that the test supplies, on a free loopback UDP port.
 * Each recording's name is its community. snmpsimd indexes its data directory when it starts,
 * so all recordings are given up front.
 *
 * Run as root, snmpsimd insists on dropping privileges: it then runs as nobody/nogroup, so the
 * data directory is made world-readable and its index cache world-writable.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeUdpPort } from './ports.js';
import { snmpGet } from './snmp-probe.js';

export interface SnmpsimService {
  readonly host: string;
  readonly port: number;
  /** The communities served, one per recording. */
  readonly communities: readonly string[];
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface SnmpsimOptions {
  /** community -> snmprec text (lines `OID|tag|value`). */
  readonly recordings: Readonly<Record<string, string>>;
}

const COMMUNITY = /^[A-Za-z0-9._-]+$/;

export async function startSnmpsim(options: SnmpsimOptions): Promise<SnmpsimService> {
  const command = requireBinary('snmpsimd', 'snmpsim');
  const communities = Object.keys(options.recordings);
  const first = communities[0];
  if (first === undefined) throw new Error('startSnmpsim: give at least one recording');
  for (const c of communities) {
    if (!COMMUNITY.test(c)) throw new Error(`startSnmpsim: community "${c}" must match ${COMMUNITY.source}`);
  }
  const port = await freeUdpPort();
  const workDir = await makeTempDir('snmpsim');
  const dataDir = join(workDir, 'data');
  const cacheDir = join(workDir, 'cache');
  await mkdir(dataDir);
  await mkdir(cacheDir);
  for (const [community, text] of Object.entries(options.recordings)) {
    const file = join(dataDir, `${community}.snmprec`);
    await writeFile(file, text.endsWith('\n') ? text : `${text}\n`);
    await chmod(file, 0o644);
  }
  await chmod(workDir, 0o755);
  await chmod(dataDir, 0o755);
  await chmod(cacheDir, 0o777);

  const args = [
    `--data-dir=${dataDir}`,
    `--cache-dir=${cacheDir}`,
    `--agent-udpv4-endpoint=127.0.0.1:${port}`,
    '--v2c-arch',
    '--logging-method=stderr',
  ];
  if (process.getuid?.() === 0) args.push('--process-user=nobody', '--process-group=nogroup');
  const proc = ManagedProcess.start({ name: 'snmpsimd', command, args, workDir });
  try {
    await proc.waitUntil(
      'it answers a GET',
      async () => {
        const vbs = await snmpGet('127.0.0.1', port, first, ['1.3.6.1.2.1.1.1.0'], 500);
        return vbs.length > 0 ? true : undefined;
      },
      30_000,
    );
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { host: '127.0.0.1', port, communities, process: proc, stop: () => proc.stop() };
}
