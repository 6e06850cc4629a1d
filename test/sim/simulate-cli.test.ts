/** `panoptes simulate`: option parsing, runSimulate in-process, and a real process stopped by SIGTERM. */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMaxMessageSizeOption, parsePortOption, parseSyntheticOption } from '../../src/cli/args.js';
import { runSimulate } from '../../src/cli/commands/simulate.js';
import { registerSimulate } from '../../src/cli/register/simulate.js';
import type { CliIo } from '../../src/cli/io.js';
import { GnmiClient } from '../../src/gnmi/client.js';
import { syntheticCounters } from '../../src/sim/synthetic.js';
import { snmpGet } from '../services/snmp-probe.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LISTENING =
  /^listening on 127\.0\.0\.1:(\d+) \((\d+) synthetic devices x (\d+) interfaces, (\d+) recordings\)\n$/;

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (text: string) => {
      io.stdout += text;
    },
    err: (text: string) => {
      io.stderr += text;
    },
  };
  return io;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'panoptes-simulate-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('simulate option parsers', () => {
  it('parses N:M, ports and message sizes', () => {
    expect(parseSyntheticOption('100:24')).toEqual({ devices: 100, interfaces: 24 });
    expect(parseSyntheticOption('1:0')).toEqual({ devices: 1, interfaces: 0 });
    expect(parsePortOption('0')).toBe(0);
    expect(parsePortOption('16300')).toBe(16300);
    expect(parseMaxMessageSizeOption('1472')).toBe(1472);
  });

  it('rejects malformed or out-of-range values', () => {
    for (const bad of ['5', '5:', ':4', '0:4', '100000:1', '5:65536', 'a:b', '5:4:3']) {
      expect(() => parseSyntheticOption(bad), bad).toThrow();
    }
    for (const bad of ['-1', '65536', '80a', '']) expect(() => parsePortOption(bad), bad).toThrow();
    expect(() => parseMaxMessageSizeOption('100')).toThrow(/484 to 65507/);
  });
});

describe('registerSimulate', () => {
  async function parse(args: readonly string[]): Promise<{ error: CommanderError; stderr: string }> {
    let stderr = '';
    const program = new Command().name('panoptes').exitOverride();
    program.configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
    registerSimulate(program, () => undefined);
    try {
      await program.parseAsync(['simulate', ...args], { from: 'user' });
    } catch (e) {
      if (e instanceof CommanderError) return { error: e, stderr };
      throw e;
    }
    throw new Error('expected a CommanderError');
  }

  it('documents its options in --help', async () => {
    const program = new Command().name('panoptes');
    registerSimulate(program, () => undefined);
    const help = program.commands.find((c) => c.name() === 'simulate')?.helpInformation() ?? '';
    for (const option of [
      '--host',
      '--port',
      '--data',
      '--synthetic',
      '--max-message-size',
      '--port-per-device',
      '--community',
    ]) {
      expect(help).toContain(option);
    }
    expect(help).toContain('Usage: panoptes simulate');
    expect((await parse(['--help'])).error.exitCode).toBe(0);
  });

  it('rejects --synthetic 5, a missing --port, and no devices at all', async () => {
    const noColon = await parse(['--port', '0', '--synthetic', '5']);
    expect(noColon.stderr).toContain("option '--synthetic <N:M>' argument '5' is invalid");
    expect(noColon.error.exitCode).not.toBe(0);
    expect((await parse(['--synthetic', '1:1'])).stderr).toContain("required option '--port <port>'");
    const nothing = await parse(['--port', '0']);
    expect(nothing.error.exitCode).toBe(2);
    expect(nothing.stderr).toContain('nothing to simulate');
  });

  it('rejects --community without --port-per-device', async () => {
    const loose = await parse(['--port', '0', '--synthetic', '1:1', '--community', 'x']);
    expect(loose.error.exitCode).toBe(2);
    expect(loose.stderr).toContain('--community only applies with --port-per-device');
  });
});

describe('runSimulate', () => {
  it('prints the listening line, serves until aborted, then exits 0', async () => {
    const io = captureIo();
    const controller = new AbortController();
    const done = runSimulate(
      { host: '127.0.0.1', port: 0, synthetic: { devices: 2, interfaces: 3 } },
      controller.signal,
      io,
    );
    await expect.poll(() => io.stdout).toMatch(LISTENING);
    const [, port, devices, interfaces, recordings] = LISTENING.exec(io.stdout) ?? [];
    expect([devices, interfaces, recordings]).toEqual(['2', '3', '0']);
    const [vb] = await snmpGet('127.0.0.1', Number(port), 'sim-00002', ['1.3.6.1.2.1.1.5.0']);
    expect(String(vb?.value)).toBe('sim-00002');
    controller.abort();
    expect(await done).toBe(0);
    expect(io.stderr).toContain('stopped: 1 requests, 1 responses, 1 varbinds');
  });

  it('with --gnmi-port also serves the synthetic devices over gNMI, with the SNMP counters', async () => {
    const controller = new AbortController();
    const io = captureIo();
    const done = runSimulate(
      { host: '127.0.0.1', port: 0, gnmiPort: 0, synthetic: { devices: 2, interfaces: 3 } },
      controller.signal,
      io,
    );
    const GNMI = /^gnmi listening on (127\.0\.0\.1:\d+) \(2 synthetic devices x 3 interfaces\)$/m;
    await expect.poll(() => io.stdout).toMatch(GNMI);
    const [, snmpPort] = LISTENING.exec(io.stdout.split('\n')[0] + '\n') ?? [];
    const client = new GnmiClient({ target: GNMI.exec(io.stdout)?.[1] ?? '', insecure: true });
    const { notifications } = await client.get(
      ['/interfaces/interface[name=Gi0/3]/state/counters/in-octets'],
      'PROTO',
      { elem: [], target: 'sim-00002' },
    );
    client.close();
    // ifHCInOctets.3 of the same device over SNMP: both advance on one clock.
    const [vb] = await snmpGet('127.0.0.1', Number(snmpPort), 'sim-00002', ['1.3.6.1.2.1.31.1.1.1.6.3']);
    const overGnmi = notifications[0]?.updates[0]?.value as bigint;
    // net-snmp hands a Counter64 over as its big-endian bytes.
    const raw = vb?.value;
    const overSnmp = Buffer.isBuffer(raw) ? BigInt(`0x${raw.toString('hex')}`) : BigInt(String(raw));
    const rate = 1000n * 2n * 3n; // octets per second
    expect(overSnmp - overGnmi).toBeGreaterThanOrEqual(0n);
    expect(overSnmp - overGnmi).toBeLessThan(rate * 2n); // read within 2 s of each other
    expect(overGnmi).toBeGreaterThan(syntheticCounters(2, 3, 0).ifHCInOctets);
    controller.abort();
    expect(await done).toBe(0);
  });

  it('--gnmi-port without --synthetic is a usage error', async () => {
    const io = captureIo();
    const dataDir = join(dir, 'gnmi-empty');
    await mkdir(dataDir, { recursive: true });
    expect(
      await runSimulate(
        { host: '127.0.0.1', port: 0, gnmiPort: 0, data: dataDir },
        new AbortController().signal,
        io,
      ),
    ).toBe(2);
    expect(io.stderr).toContain('--gnmi-port serves the synthetic devices: give --synthetic N:M');
  });

  it('serves each device on its own port under one community with portPerDevice', async () => {
    const io = captureIo();
    const controller = new AbortController();
    const recordings = join(dir, 'port-per-device');
    await mkdir(recordings, { recursive: true });
    await writeFile(join(recordings, 'edge-router.snmprec'), '1.3.6.1.2.1.1.5.0|4|edge-router\n');
    const done = runSimulate(
      {
        host: '127.0.0.1',
        port: 0,
        synthetic: { devices: 3, interfaces: 1 },
        data: recordings,
        portPerDevice: true,
        community: 'bench',
      },
      controller.signal,
      io,
    );
    const line =
      /^listening on 127\.0\.0\.1:(\d+)-(\d+) \(3 synthetic devices x 1 interfaces, 1 recordings; one port per device, community bench\)\n$/;
    await expect.poll(() => io.stdout).toMatch(line);
    const [, first, last] = line.exec(io.stdout) ?? [];
    expect(Number(last) - Number(first)).toBe(3);
    const sysName = async (port: number, community: string): Promise<string> => {
      const [vb] = await snmpGet('127.0.0.1', port, community, ['1.3.6.1.2.1.1.5.0']);
      return String(vb?.value);
    };
    const names = [];
    for (let k = 0; k <= 3; k++) names.push(await sysName(Number(first) + k, 'bench'));
    expect(names).toEqual(['sim-00001', 'sim-00002', 'sim-00003', 'edge-router']);
    // The device's own community no longer selects it, and is not an answer on its port.
    await expect(sysName(Number(first), 'sim-00001')).rejects.toThrow(/timed out/i);
    controller.abort();
    expect(await done).toBe(0);
    expect(io.stderr).toContain('4 responses');
    expect(io.stderr).toContain('1 unknown community');
  });

  it('exits 2 for a missing data directory', async () => {
    const io = captureIo();
    const missing = join(dir, 'missing');
    expect(
      await runSimulate({ host: '127.0.0.1', port: 0, data: missing }, new AbortController().signal, io),
    ).toBe(2);
    expect(io.stderr).toBe(`panoptes simulate: ${missing}: cannot read data directory: no such directory\n`);
    expect(io.stdout).toBe('');
  });

  it('exits 1 for a bad snmprec line, naming the file and line', async () => {
    const data = join(dir, 'bad');
    await mkdir(data);
    const file = join(data, 'core-1.snmprec');
    await writeFile(file, '1.3.6.1.2.1.1.5.0|4|ok\n1.3.6.1.2.1.1.6.0|99|what\n');
    const io = captureIo();
    expect(await runSimulate({ host: '127.0.0.1', port: 0, data }, new AbortController().signal, io)).toBe(1);
    expect(io.stderr).toBe(`panoptes simulate: ${file}:2: unknown tag "99"\n`);
  });
});

describe('panoptes simulate as a process', () => {
  it('prints one line with the port, answers, and exits 0 on SIGTERM', async () => {
    const driver = [
      "import { Command } from 'commander';",
      "import { registerSimulate } from './src/cli/register/simulate.ts';",
      "const program = new Command().name('panoptes').exitOverride();",
      'let code = 0;',
      'registerSimulate(program, (c) => { code = c; });',
      "await program.parseAsync(process.argv.slice(1), { from: 'user' });",
      'process.exitCode = code;',
    ].join('\n');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        driver,
        'simulate',
        '--port',
        '0',
        '--synthetic',
        '3:2',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => stdout, { timeout: 20_000 }).toMatch(LISTENING);
      const port = Number(LISTENING.exec(stdout)?.[1]);
      const [vb] = await snmpGet('127.0.0.1', port, 'sim-00003', ['1.3.6.1.2.1.1.5.0']);
      expect(String(vb?.value)).toBe('sim-00003');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout.split('\n')).toHaveLength(2);
      expect(stderr).toContain('stopped:');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
