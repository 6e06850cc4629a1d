/**
 * What fault tests do to the services of a test cluster beyond starting and stopping them:
 * restart redis-server empty on the port it had, produce raw records with kcat, and give a
 * consumer a small file system that can be filled up (tmpfs; needs root).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, requireBinary } from '../services/index.js';
import { makeTempDir } from '../services/managed-process.js';

function ping(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', () => resolve(undefined));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG') ? true : undefined);
      }
    });
  });
}

/** redis-server on a given loopback port, empty, no persistence; resolves once it answers PING. */
export async function startRedisOnPort(port: number): Promise<ManagedProcess> {
  const command = requireBinary('redis-server', 'redis-server');
  const workDir = await makeTempDir('redis');
  const proc = ManagedProcess.start({
    name: 'redis-server',
    command,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      workDir,
    ],
    workDir,
  });
  try {
    await proc.waitUntil('it answers PING', () => ping(port));
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return proc;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command to its end (killed after timeoutMs), collecting its output. */
export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      if (stdout.length < 100_000) stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 100_000) stderr += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${e.message}`, ms: Date.now() - started });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * Produces the whole of `file` as one record with kcat (key `key`); `extra` adds kcat options,
 * e.g. `['-X', 'message.max.bytes=20000000']`.
 */
export function kcatProduce(
  brokers: readonly string[],
  topic: string,
  key: string,
  file: string,
  extra: readonly string[] = [],
): Promise<CommandResult> {
  const kcat = requireBinary('kcat', 'kcat');
  return runCommand(kcat, ['-P', '-b', brokers.join(','), '-t', topic, '-k', key, ...extra, file]);
}

/** Mounts a tmpfs of `sizeMiB` on `dir` (root only). */
export async function mountTmpfs(dir: string, sizeMiB: number): Promise<void> {
  const r = await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], 10_000);
  if (r.code !== 0)
    throw new Error(`mount -t tmpfs on ${dir} failed (${String(r.code)}): ${r.stderr.trim()}`);
}

export async function unmountTmpfs(dir: string): Promise<void> {
  let r = await runCommand('umount', [dir], 10_000);
  if (r.code !== 0) r = await runCommand('umount', ['-l', dir], 10_000);
  if (r.code !== 0) throw new Error(`umount ${dir} failed (${String(r.code)}): ${r.stderr.trim()}`);
}

/** Free bytes of the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Fills the file system of `dir` with files of its free space (fallocate), so that the next
 * write fails with ENOSPC; returns the files, whose removal frees the space again.
 */
export async function fillFileSystem(dir: string): Promise<string[]> {
  const fallocate = requireBinary('fallocate', 'util-linux');
  const files: string[] = [];
  // Writers keep appending while this runs: fill what is free then, a few times.
  for (let i = 0; i < 5; i++) {
    const free = await freeBytes(dir);
    if (free < 4096) break;
    const file = join(dir, `filler-${i}.bin`);
    files.push(file);
    const r = await runCommand(fallocate, ['-l', String(free), file], 10_000);
    if (r.code !== 0 && !/No space/i.test(r.stderr)) throw new Error(`fallocate failed: ${r.stderr.trim()}`);
  }
  return files;
}
