/**
 * A PluginContext for unit tests of a built-in plugin: its own .panoptes-plugin file (with
 * [options] values and [main] settings laid over it), a capture logger, an SNMP session the test
 * gives (the in-memory session, usually), the enrichment lookup the test gives, no secrets.
 */
import { Keeper } from '../../src/actors/keeper.js';
import { readFileSync } from 'node:fs';
import type { EnrichmentGroup } from '../../src/model/index.js';
import type { PluginContext } from '../../src/plugins/api.js';
import { parsePluginFile } from '../../src/plugins/plugin-file.js';
import type { PluginDefinition } from '../../src/plugins/plugin-file.js';
import { ProfileCatalog } from '../../src/profiles/catalog.js';
import type { SnmpSession } from '../../src/snmp/session.js';
import type { KeyValueStore } from '../../src/store/store.js';
import { LEVEL, captureLogger } from './capture-logger.js';
import type { LogRecord } from './capture-logger.js';

export interface TestContextOptions {
  /** Values for the [options] section, over the file's own. */
  readonly options?: Readonly<Record<string, string>>;
  /** Settings over the file's (execute_frequency, namespace, ...). */
  readonly main?: Partial<PluginDefinition>;
  /** The session every `snmp()` call returns; without one, SNMP is refused. */
  readonly session?: SnmpSession;
  readonly enrichment?: PluginContext['enrichment'];
  readonly profiles?: ProfileCatalog;
}

export interface TestContext {
  readonly ctx: PluginContext;
  readonly records: LogRecord[];
  /** The warnings logged so far. */
  readonly warnings: () => LogRecord[];
  /** How many sessions the plugin asked for. */
  readonly snmpAsked: () => number;
}

export function testPluginContext(pluginFile: string, options: TestContextOptions = {}): TestContext {
  const file = parsePluginFile(readFileSync(pluginFile, 'utf8'), pluginFile);
  const config: PluginDefinition = {
    ...file,
    ...options.main,
    options: { ...file.options, ...options.options },
  };
  const { logger, records } = captureLogger();
  let asked = 0;
  const { session } = options;
  const keeper = new Keeper(`${config.name} in a test`);
  const ctx: PluginContext = {
    config,
    logger,
    signal: new AbortController().signal,
    snmp: () => {
      asked++;
      return session === undefined
        ? Promise.reject(new Error(`${config.name} asked for SNMP, which this test refuses`))
        : Promise.resolve(session);
    },
    enrichment:
      options.enrichment ?? ((): Promise<EnrichmentGroup | undefined> => Promise.resolve(undefined)),
    secret: () => Promise.resolve(undefined),
    keep: (open) => keeper.keep(open),
    store: {} as KeyValueStore,
    profiles: options.profiles ?? new ProfileCatalog([]),
  };
  return {
    ctx,
    records,
    warnings: () => records.filter((r) => r.level === LEVEL.warn),
    snmpAsked: () => asked,
  };
}
