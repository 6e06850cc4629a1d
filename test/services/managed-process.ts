/**
 * Starts a service binary for a test, with its output in a log file (no pipe to drain, so a
 * chatty service never blocks), and stops it again: SIGTERM, then SIGKILL after a grace period.
 * Children still alive when the test process exits are killed, so a crashed suite leaves no
 * servers behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PanoptesError } from '../../src/errors.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Finds an executable on PATH (plus the sbin directories Debian keeps daemons in). */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Like findBinary, but a missing binary is an error naming the Debian package to install. */
export function requireBinary(name: string, debianPackage: string): string {
  const path = findBinary(name);
  if (path === undefined) {
    throw new PanoptesError(
      'SERVICE_START',
      `${name} not found: install it with 'sudo apt-get install -y ${debianPackage}' ` +
        `(npm test runs scripts/install-test-deps.sh, which does this)`,
    );
  }
  return path;
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `panoptes-test-${prefix}-`));
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** A directory owned by this process; removed by stop(). Holds the log file. */
  readonly workDir: string;
  readonly env?: Readonly<Record<string, string>>;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly workDir: string;
  private readonly child: ChildProcess;
  private exitCode: number | null | undefined = undefined;
  private readonly exited: Promise<void>;
  private spawnError: Error | undefined;

  private constructor(options: StartOptions, child: ChildProcess, logFile: string) {
    this.name = options.name;
    this.workDir = options.workDir;
    this.logFile = logFile;
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        live.delete(child);
        resolve();
      });
    });
  }

  static start(options: StartOptions): ManagedProcess {
    const logFile = join(options.workDir, `${options.name}.log`);
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(options.command, [...options.args], {
        cwd: options.workDir,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', fd, fd],
      });
      live.add(child);
      const managed = new ManagedProcess(options, child, logFile);
      child.once('error', (e) => {
        managed.exitCode = -1;
        live.delete(child);
        managed.spawnError = e;
      });
      return managed;
    } finally {
      closeSync(fd);
    }
  }

  /** The process id (for benchmarks reading its CPU time from /proc). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined && this.spawnError === undefined;
  }

  /** The last lines of the log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Polls `probe` until it returns a value other than undefined; fails if the process exits
   * first or the time runs out, quoting the end of the log.
   */
  async waitUntil<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    timeoutMs = 20_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (!this.running) {
        const why = this.spawnError?.message ?? `exited with status ${String(this.exitCode)}`;
        throw new PanoptesError(
          'SERVICE_START',
          `${this.name} ${why} before ${what}; log:\n${this.logTail()}`,
        );
      }
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (e) {
        lastError = e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
    throw new PanoptesError(
      'SERVICE_START',
      `${this.name}: timed out after ${timeoutMs} ms waiting until ${what}${last}; log:\n${this.logTail()}`,
    );
  }

  /** Stops the process (SIGTERM, SIGKILL after graceMs) and removes its work directory. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await rm(this.workDir, { recursive: true, force: true });
  }

  /**
   * Freezes (SIGSTOP) or resumes (SIGCONT) the process: it keeps its sockets and data but answers
   * nothing meanwhile, like a hung server or a partitioned network.
   */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.running) this.child.kill(signal);
  }

  /** Stops the process without removing its work directory (to restart on the same data). */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    await this.exited;
  }
}
