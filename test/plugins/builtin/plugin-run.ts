/** A plugin context for a built-in discovery plugin under test: its plugin file, a capture logger. */
import { join } from 'node:path';
import { expect } from 'vitest';
import { PanoptesError } from '../../../src/errors.js';
import type { PluginContext } from '../../../src/plugins/api.js';
import { createContextFactory } from '../../../src/plugins/context.js';
import { parsePluginFile } from '../../../src/plugins/plugin-file.js';
import { storeKeys } from '../../../src/store/keys.js';
import type { MemoryStore } from '../../../src/store/memory-store.js';
import { LEVEL, captureLogger } from '../../support/capture-logger.js';
import type { LogRecord } from '../../support/capture-logger.js';

export interface Run {
  readonly ctx: PluginContext;
  readonly records: LogRecord[];
  readonly warnings: () => string[];
}

/** A context for plugin file `<dir>/<name>.panoptes-plugin` naming `module`, whose [options] are `options`. */
export function pluginRun(
  dir: string,
  store: MemoryStore,
  module: string,
  options: Readonly<Record<string, string>>,
  name: string,
): Run {
  const optionLines = Object.entries(options).map(([k, v]) => `${k} = ${v}`);
  const text = [
    '[Core]',
    `Name = ${name}`,
    `Module = ${module}`,
    '[main]',
    'execute_frequency = 300',
    ...(optionLines.length === 0 ? [] : ['[options]', ...optionLines]),
  ].join('\n');
  const definition = parsePluginFile(text, join(dir, `${name}.panoptes-plugin`));
  const { logger, records } = captureLogger();
  const ctx = createContextFactory({ logger, store, keys: storeKeys() })(
    definition,
    new AbortController().signal,
  );
  const warnings = (): string[] => records.filter((r) => r.level === LEVEL.warn).map((r) => r.msg);
  return { ctx, records, warnings };
}

/** The PanoptesError a run rejects with. */
export async function failureOf(run: Promise<unknown>): Promise<PanoptesError> {
  const error: unknown = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PanoptesError);
  return error as PanoptesError;
}
