/**
 * The gNMI test target (test/services/gnmi/target.py on Debian's python3-grpcio): one simulated
 * device on a free loopback port, whose values follow the formulas in target.py, with knobs to
 * drop, delay and corrupt its streams.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';
import { freeTcpPort } from './ports.js';

const SCRIPT = fileURLToPath(new URL('./gnmi/target.py', import.meta.url));

export interface GnmiTargetOptions {
  /** The device number d of the formulas. Default 1. */
  readonly device?: number;
  /** Default 24. */
  readonly interfaces?: number;
  /** Serve TLS with this certificate and key; with clientCa, require client certificates. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile?: string };
  readonly username?: string;
  readonly password?: string;
}

export interface GnmiKnobs {
  /** Abort every stream with UNAVAILABLE and refuse new ones. */
  readonly drop?: boolean;
  /** Send each sample this much later, ms. */
  readonly delay_ms?: number;
  /** Add an update without a value and one with bad JSON to every notification. */
  readonly malformed?: boolean;
}

export interface GnmiTargetService {
  /** `127.0.0.1:<port>` */
  readonly target: string;
  /** The formulas' time origin, epoch ms. */
  readonly epochMs: number;
  readonly process: ManagedProcess;
  setKnobs(knobs: GnmiKnobs): void;
  stop(): Promise<void>;
}

export async function startGnmiTarget(options: GnmiTargetOptions = {}): Promise<GnmiTargetService> {
  // Debian's interpreter (python3-grpcio and python3-grpc-tools are installed for it), not
  // whichever python3 comes first on PATH.
  requireBinary('python3', 'python3');
  const python = '/usr/bin/python3';
  const port = await freeTcpPort();
  const workDir = await makeTempDir('gnmi-target');
  const control = join(workDir, 'control.json');
  writeFileSync(control, '{}');
  const args = [
    SCRIPT,
    `--port=${port}`,
    `--device=${options.device ?? 1}`,
    `--interfaces=${options.interfaces ?? 24}`,
    `--control=${control}`,
  ];
  if (options.tls !== undefined) {
    args.push(`--tls-cert=${options.tls.certFile}`, `--tls-key=${options.tls.keyFile}`);
    if (options.tls.clientCaFile !== undefined) args.push(`--client-ca=${options.tls.clientCaFile}`);
  }
  if (options.username !== undefined) args.push(`--username=${options.username}`);
  if (options.password !== undefined) args.push(`--password=${options.password}`);
  const proc = ManagedProcess.start({ name: 'gnmi-target', command: python, args, workDir });
  let epochMs: number;
  try {
    epochMs = await proc.waitUntil('the target listening', () => {
      const m = /listening (\d+) epoch_ms (\d+)/.exec(proc.log());
      return m === null ? undefined : Number(m[2]);
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    target: `127.0.0.1:${port}`,
    epochMs,
    process: proc,
    setKnobs: (knobs) => writeFileSync(control, JSON.stringify(knobs)),
    stop: () => proc.stop(),
  };
}
