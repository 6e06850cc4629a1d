/** The stages a node runs, and which backends a node of some of them needs. */
import type { SiteConfig } from '../config/site-config.js';
import { PanoptesError } from '../errors.js';

export type Role = 'discovery' | 'enrichment' | 'polling' | 'consumer' | 'forward';
/** The stages of the pipeline: a node with all of them is the whole pipeline (embedded mode). */
export const PIPELINE_ROLES: readonly Role[] = ['discovery', 'enrichment', 'polling', 'consumer'];
/** Every stage; `forward` runs only where federation.upstream is configured. */
export const ALL_ROLES: readonly Role[] = [...PIPELINE_ROLES, 'forward'];

/** Whether the node runs every stage of the pipeline. */
export function isWholePipeline(roles: ReadonlySet<Role>): boolean {
  return PIPELINE_ROLES.every((r) => roles.has(r));
}

/**
 * Whether the node runs a stage that runs plugins (discovery, enrichment, polling): those read
 * and write the store and the resources topic; the consumer and forward stages need neither.
 */
export function runsPlugins(roles: ReadonlySet<Role>): boolean {
  return roles.has('discovery') || roles.has('enrichment') || roles.has('polling');
}

/** A node without every stage talks to the others through Kafka and Redis: a config error otherwise. */
export function checkRoles(config: SiteConfig, roles: ReadonlySet<Role>): void {
  const everything = isWholePipeline(roles);
  if (!everything && config.bus.type === 'memory') {
    throw new PanoptesError(
      'CONFIG_INVALID',
      `${config.file}: bus.type memory: a stage on its own needs bus.type kafka to reach the other stages ` +
        '(the in-process bus works only with panoptes run, every stage in one process)',
    );
  }
  if (
    !everything &&
    runsPlugins(roles) &&
    config.store.type === 'memory' &&
    !(roles.has('enrichment') && roles.has('polling'))
  ) {
    throw new PanoptesError(
      'CONFIG_INVALID',
      `${config.file}: store.type memory: this node's stages share enrichment, locks and counter checkpoints ` +
        'with other processes through the store: use store.type redis',
    );
  }
}
