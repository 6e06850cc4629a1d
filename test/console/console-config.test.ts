/** The `console:` section of the site configuration: absent by default, its defaults, its errors, its README rows. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../src/config/site-config.js';

const FILE = '/etc/panoptes/site.yaml';

describe('site configuration: console', () => {
  it('is absent unless configured (no console)', () => {
    expect(parseSiteConfig('site: dc1\n', FILE).console).toBeUndefined();
  });

  it('has defaults for everything but the port', () => {
    expect(parseSiteConfig('site: dc1\nconsole: {port: 8089}\n', FILE).console).toEqual({
      port: 8089,
      host: '127.0.0.1',
      history_seconds: 3600,
      max_series: 20_000,
      max_devices: 10_000,
      refresh_seconds: 5,
    });
    expect(parseSiteConfig('site: dc1\nconsole: {}\n', FILE).console?.port).toBeUndefined();
  });

  it('names the file, line, column and key of a wrong value', () => {
    let message = '';
    try {
      parseSiteConfig('site: dc1\nconsole:\n  port: 70000\n  history_seconds: 10\n  colour: red\n', FILE);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      `${FILE}:3:9: console.port: must be an integer from 0 to 65535`,
      `${FILE}:4:20: console.history_seconds: must be an integer from 60 to 86400`,
      `${FILE}:5:11: console.colour: unknown key`,
    ]);
  });

  it('is documented in the README table with the defaults of the code', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const defaults = parseSiteConfig('site: dc1\nconsole: {}\n', FILE).console ?? {};
    const row = (key: string): string =>
      readme.split('\n').find((l) => l.startsWith(`| \`console.${key}\``)) ?? '';
    for (const [key, value] of Object.entries(defaults))
      expect(row(key).split('|')[2]?.trim(), key).toBe(`\`${String(value)}\``);
    expect(row('port').split('|')[2]?.trim()).toBe('none');
  });

  it('the quickstart serves it on 8089', () => {
    const file = join(import.meta.dirname, '../../examples/quickstart/site.yaml');
    expect(parseSiteConfig(readFileSync(file, 'utf8'), file).console?.port).toBe(8089);
  });
});
