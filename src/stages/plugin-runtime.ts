/**
 * What running plugins takes, built from a site configuration in one place for the pipeline
 * node and `panoptes poll`: the site's secrets in the store, the configured simulator, the SNMP
 * engine, the SNMP profiles, the enrichment cache, the plugins' context factory and the plugin
 * loader (the site's directories, the built-in plugins unless plugins.builtin is false).
 */
import { defaultPluginDirectory } from '../config/site-config.js';
import type { SiteConfig } from '../config/site-config.js';
import type { Logger } from '../log.js';
import { BUILTIN_PLUGINS_DIR } from '../package-root.js';
import { createContextFactory, storeEnrichmentLoader } from '../plugins/context.js';
import type { ContextFactory } from '../plugins/context.js';
import { PluginLoader } from '../plugins/loader.js';
import { ProfileCatalog } from '../profiles/catalog.js';
import { SnmpSimulator } from '../sim/simulator.js';
import type { GnmiSimulator } from '../sim/gnmi-simulator.js';
import { SnmpEngine } from '../snmp/engine.js';
import { EnrichmentCache } from '../streams/enrichment-cache.js';
import type { StoreKeys } from '../store/keys.js';
import type { KeyValueStore } from '../store/store.js';

/** Puts the configuration's secrets in the store (`default` = every site). */
export async function storeSecrets(config: SiteConfig, store: KeyValueStore, keys: StoreKeys): Promise<void> {
  for (const [name, bySite] of Object.entries(config.secrets)) {
    for (const [site, value] of Object.entries(bySite)) {
      await store.set(site === 'default' ? keys.secretDefault(name) : keys.secret(name, site), value);
    }
  }
}

/** Starts the simulator of the configuration (which must have one). */
export async function startConfiguredSimulator(config: SiteConfig, logger: Logger): Promise<SnmpSimulator> {
  const sim = config.simulator;
  if (sim === undefined) throw new Error(`${config.file}: no simulator section`);
  const simulator = await SnmpSimulator.start({
    host: sim.host,
    port: sim.port,
    ...(sim.devices > 0
      ? { synthetic: { devices: sim.devices, interfaces: sim.interfaces, health: sim.health } }
      : {}),
    ...(sim.recordings === undefined ? {} : { dataDir: sim.recordings }),
  });
  logger.info(
    {
      address: `${simulator.address}:${simulator.port}`,
      devices: sim.devices,
      interfaces: sim.interfaces,
      recordings: simulator.recordings,
    },
    'SNMP simulator started',
  );
  return simulator;
}

/**
 * Starts the simulator's gNMI side when the configuration turns it on (simulator.gnmi.enabled),
 * on the SNMP side's clock; undefined when it is off. gRPC loads only then.
 */
export async function startConfiguredGnmiSimulator(
  config: SiteConfig,
  snmp: SnmpSimulator,
  logger: Logger,
): Promise<GnmiSimulator | undefined> {
  const sim = config.simulator;
  if (sim?.gnmi?.enabled !== true) return undefined;
  const { GnmiSimulator } = await import('../sim/gnmi-simulator.js');
  const started = await GnmiSimulator.start({
    host: sim.host,
    port: sim.gnmi.port,
    devices: sim.devices,
    interfaces: sim.interfaces,
    startMs: snmp.startTime, // the same counters as over SNMP
  });
  logger.info(
    { address: started.address, devices: sim.devices, plugins: sim.gnmi.plugin_directories },
    'gNMI simulator started',
  );
  return started;
}

export interface PluginRuntime {
  readonly engine: SnmpEngine;
  readonly profiles: ProfileCatalog;
  readonly enrichmentCache: EnrichmentCache;
  readonly contextFactory: ContextFactory;
  /** Scanned once already. */
  readonly loader: PluginLoader;
  /** Closes the loader and the engine. */
  close(): Promise<void>;
}

export interface PluginRuntimeOptions {
  readonly store: KeyValueStore;
  readonly keys: StoreKeys;
  readonly logger: Logger;
  /** The port of a simulator this process started: the SNMP port unless snmp.port says otherwise. */
  readonly simulatorPort?: number;
  /**
   * The port of the simulator's gNMI side this process started: gNMI plugins' default port, and
   * simulator.gnmi.plugin_directories are loaded besides the configured directories.
   */
  readonly gnmiPort?: number;
  /** Rescan the plugin directories this often; 0 = never. */
  readonly rescanIntervalMs: number;
}

export async function startPluginRuntime(
  config: SiteConfig,
  options: PluginRuntimeOptions,
): Promise<PluginRuntime> {
  const { store, keys, logger } = options;
  const engine = new SnmpEngine({
    maxInFlight: config.snmp.max_in_flight,
    maxInFlightPerDevice: config.snmp.max_in_flight_per_device,
    decodeWorkers: config.snmp.decode_workers,
  });
  const loader = new PluginLoader({
    directories: [
      ...config.plugins.directories,
      ...(options.gnmiPort === undefined ? [] : (config.simulator?.gnmi?.plugin_directories ?? [])),
    ],
    ...(config.plugins.builtin ? { builtinDirectory: BUILTIN_PLUGINS_DIR } : {}),
    optionalDirectories: [defaultPluginDirectory(config)],
    logger,
    rescanIntervalMs: options.rescanIntervalMs,
  });
  const close = async (): Promise<void> => {
    loader.close();
    await engine.close();
  };
  try {
    const profiles = await ProfileCatalog.loadLogged(config.profiles.directories, logger);
    const enrichmentCache = new EnrichmentCache({ load: storeEnrichmentLoader(store, keys, logger) });
    const port = config.snmp.port ?? options.simulatorPort;
    const contextFactory = createContextFactory({
      logger,
      profiles,
      store,
      keys,
      snmp: engine,
      enrichmentCache,
      ...(options.gnmiPort === undefined ? {} : { gnmiPort: options.gnmiPort }),
      ...(config.snmp.community === undefined ? {} : { defaultCommunity: config.snmp.community }),
      sessionDefaults: {
        ...(port === undefined ? {} : { port }),
        timeoutMs: config.snmp.timeout_ms,
        retries: config.snmp.retries,
      },
    });
    await loader.scan();
    return { engine, profiles, enrichmentCache, contextFactory, loader, close };
  } catch (e) {
    await close();
    throw e;
  }
}
