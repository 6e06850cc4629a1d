/**
 * The live console in a real browser, as a user of `npm start` sees it: the built CLI runs the
 * quickstart (50 simulated switches; a copy of its configuration with the console on a free
 * port), headless Chromium (Debian's, driven by playwright-core) opens the printed address,
 * checks the devices table (rows, search, sorting), opens a device and waits until its CPU,
 * memory, temperature and interface charts have data, then takes a screenshot and counts, in
 * the PNG, the pixels of the series' colours inside each chart canvas: charts that draw no line
 * fail. No request may leave the node's own address (the page works offline).
 *
 * The screenshot is written to the test's temporary directory, and also to the path in
 * PANOPTES_CONSOLE_SCREENSHOT when set (docs/console.png, the README's picture, comes from
 * `PANOPTES_CONSOLE_SCREENSHOT=docs/console.png npx vitest run test/console/console-browser`).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const QUICKSTART = join(ROOT, 'examples', 'quickstart');
const CHROMIUM = '/usr/bin/chromium';
/** The series' colours in app.js (traffic in/out; the first two lines of the other charts). */
const SERIES_COLOURS: readonly [number, number, number][] = [
  [0x1f, 0x77, 0xb4],
  [0xe8, 0x71, 0x0a],
];

let dir: string;
let child: ChildProcess | undefined;
let browser: Browser | undefined;
let stdout = '';
let stderr = '';

/** Waits for `condition` every 100 ms, at most `ms`; false when it never held. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline || (child !== undefined && child.exitCode !== null)) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** The quickstart's configuration with its plugins found from anywhere and the console on any free port. */
async function quickstartCopy(): Promise<string> {
  let text = await readFile(join(QUICKSTART, 'site.yaml'), 'utf8');
  const edits: [RegExp, string][] = [
    [/directories: \[plugins\]/, `directories: [${JSON.stringify(join(QUICKSTART, 'plugins'))}]`],
    [/\n {2}port: 8089\b.*/, '\n  port: 0\n  refresh_seconds: 1'],
  ];
  for (const [pattern, replacement] of edits) {
    if (!pattern.test(text))
      throw new Error(`examples/quickstart/site.yaml: no ${String(pattern)} to replace`);
    text = text.replace(pattern, replacement);
  }
  const file = join(dir, 'site.yaml');
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/install-test-deps.sh)`);
  if (!existsSync(CLI))
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  dir = await mkdtemp(join(tmpdir(), 'panoptes-console-'));
  const config = await quickstartCopy();
  child = spawn(process.execPath, [CLI, 'run', '--config', config], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PANOPTES_LOG_LEVEL: 'warn' },
  });
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 20_000 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 30_000);

/** Columns of the devices table. */
const COLUMNS = 6;

/**
 * Text of every cell of the table's body, row by row. (Through Playwright's locators, not code
 * run in the page: the project is type-checked without the DOM library.)
 */
async function tableRows(page: Page): Promise<string[][]> {
  const cells = await page.locator('#devices tbody td').allTextContents();
  return Array.from({ length: cells.length / COLUMNS }, (_, i) =>
    cells.slice(i * COLUMNS, (i + 1) * COLUMNS),
  );
}

/**
 * Asks `check` every 250 ms until it holds, at most `ms`; fails naming `what` otherwise. (Not
 * page.waitForFunction: that evaluates in the page, which the console's CSP forbids.)
 */
async function poll(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until the table has `n` rows (or at least `n`). */
async function rowsShown(page: Page, n: number, atLeast = false): Promise<void> {
  const rows = page.locator('#devices tbody tr');
  await poll(
    `${atLeast ? 'at least ' : ''}${n} rows`,
    async () => {
      const count = await rows.count();
      return atLeast ? count >= n : count === n;
    },
    15_000,
  );
}

/** Pixels of `png` within `box` close to one of the series' colours (anti-aliasing allowed). */
function seriesPixels(png: PNG, box: { x: number; y: number; width: number; height: number }): number {
  let n = 0;
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(png.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(png.height, Math.ceil(box.y + box.height));
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i] ?? 0, png.data[i + 1] ?? 0, png.data[i + 2] ?? 0];
      if (SERIES_COLOURS.some(([cr, cg, cb]) => Math.abs(r - cr) + Math.abs(g - cg) + Math.abs(b - cb) < 90))
        n++;
    }
  return n;
}

/** Pixels of `png` within `box` that are not the page's white background. */
function nonBackgroundPixels(png: PNG, box: { x: number; y: number; width: number; height: number }): number {
  let n = 0;
  for (let y = Math.floor(box.y); y < Math.min(png.height, Math.ceil(box.y + box.height)); y++)
    for (let x = Math.floor(box.x); x < Math.min(png.width, Math.ceil(box.x + box.width)); x++) {
      const i = (y * png.width + x) * 4;
      if ((png.data[i] ?? 255) < 245 || (png.data[i + 1] ?? 255) < 245 || (png.data[i + 2] ?? 255) < 245) n++;
    }
  return n;
}

describe('the live console in Chromium (panoptes run on the quickstart)', () => {
  it('lists the devices, searches and sorts them, and draws a device page with data', async () => {
    const started = await until(() => /console: http:\/\/\S+/.test(stdout), 20_000);
    expect(started, `no console address printed; stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(true);
    const url = /console: (http:\/\/\S+)/.exec(stdout)?.[1] ?? '';
    const origin = new URL(url).origin;

    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 1000 } });
    page.setDefaultTimeout(15_000);
    const foreign: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== origin) foreign.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(url);

    // The table: the 50 switches and the poller's own heartbeat resource, each polled fine.
    await rowsShown(page, 51, true);
    expect(await page.locator('#devices th').allTextContents()).toEqual([
      'Device',
      'Class / type',
      'Endpoint',
      'Status',
      'Error',
      'Age',
    ]);
    const rows = await tableRows(page);
    expect(rows).toHaveLength(51);
    const sim7 = rows.find((r) => r[0] === 'sim-00007');
    expect(sim7?.slice(0, 5)).toEqual(['sim-00007', 'network / switch / simulated', '127.0.0.1', 'ok', '']);
    expect(sim7?.[5]).toMatch(/^\d+ s$/);
    expect(rows.filter((r) => r[3] === 'ok')).toHaveLength(51);

    // Search narrows the rows; clicking a header sorts, clicking it again reverses.
    await page.fill('#search', 'sim-0004');
    await rowsShown(page, 10);
    expect((await tableRows(page)).map((r) => r[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => `sim-0004${i}`),
    );
    expect(await page.textContent('#count')).toBe('10 of 51 devices');
    await page.fill('#search', '');
    await rowsShown(page, 51);
    await page.click('#devices th[data-key="id"]');
    expect((await tableRows(page))[0]?.[0]).toBe('sim-00050');
    expect(await page.getAttribute('#devices th[data-key="id"]', 'aria-sort')).toBe('descending');
    await page.click('#devices th[data-key="id"]');
    expect((await tableRows(page))[1]?.[0]).toBe('sim-00001');

    // A device page: every chart gets at least two points (rates need two polls, 10 s apart).
    await page.click('text=sim-00007');
    await page.waitForSelector('#device-view:not([hidden])');
    expect(page.url()).toBe(`${url}#/device/sim-00007`);
    const points = async (selector: string): Promise<number> =>
      Number((await page.locator(selector).first().getAttribute('data-points')) ?? '0');
    await poll(
      'every chart to have two points',
      async () =>
        (await points('.chart[data-chart="cpu"] .plot')) >= 2 &&
        (await points('.chart[data-chart="memory"] .plot')) >= 2 &&
        (await points('.chart[data-chart="temperature"] .plot')) >= 2 &&
        (await points('#if-grid .plot')) >= 2,
      30_000,
    );
    expect(await page.textContent('#device-title')).toBe('sim-00007');
    expect(await page.textContent('#if-count')).toBe('24 of 24 interfaces');
    expect(await page.locator('.nodata').count()).toBe(0);
    expect(await page.getAttribute('.chart[data-chart="cpu"] .plot', 'data-series')).toBe('2');

    const shot = await page.screenshot();
    await writeFile(join(dir, 'console.png'), shot);
    const keep = process.env['PANOPTES_CONSOLE_SCREENSHOT'];
    if (keep !== undefined && keep !== '') await writeFile(resolve(ROOT, keep), shot);

    // Each chart canvas on screen: axes and grid (non-background) and lines in the series' colours.
    const png = PNG.sync.read(shot);
    const boxes = await Promise.all((await page.locator('.uplot canvas').all()).map((c) => c.boundingBox()));
    const visible = boxes.filter(
      (b): b is NonNullable<typeof b> =>
        b !== null && b.width > 0 && b.y >= 0 && b.y + b.height <= png.height,
    );
    // CPU, memory, temperatures and at least the first row of interfaces.
    expect(visible.length).toBeGreaterThanOrEqual(6);
    for (const box of visible) {
      expect(nonBackgroundPixels(png, box), JSON.stringify(box)).toBeGreaterThan(500);
      expect(seriesPixels(png, box), JSON.stringify(box)).toBeGreaterThan(20);
    }

    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
