/** A PollingAgent on a MemoryStore (virtual-time friendly) that records what it reports and publishes. */
import { PollingAgent } from '../../src/actors/polling-agent.js';
import type { PollingAgentOptions } from '../../src/actors/polling-agent.js';
import type { RunStatus } from '../../src/actors/run-status.js';
import { silentLogger } from '../../src/log.js';
import type { MetricsGroup } from '../../src/model/index.js';
import { createContextFactory } from '../../src/plugins/context.js';
import { storeKeys } from '../../src/store/keys.js';
import { MemoryStore } from '../../src/store/memory-store.js';

export interface Published {
  readonly resourceId: string;
  readonly plugin: string;
  readonly groups: readonly MetricsGroup[];
  readonly at: number;
}

export class RecordingAgent {
  readonly keys = storeKeys();
  readonly store: MemoryStore;
  readonly statuses: RunStatus[] = [];
  readonly published: Published[] = [];
  readonly agent: PollingAgent;

  /** `store` is the shared data (several agents = several nodes); options.store may wrap it. */
  constructor(
    options: Partial<PollingAgentOptions> = {},
    store = new MemoryStore({ now: () => Date.now(), sweepIntervalMs: 0 }),
  ) {
    this.store = store;
    const { keys } = this;
    this.agent = new PollingAgent({
      logger: silentLogger,
      store,
      keys,
      contextFactory: createContextFactory({ logger: silentLogger, store, keys }),
      publish: (r, p, groups) => {
        this.published.push({ resourceId: r.resource_id, plugin: p.definition.name, groups, at: Date.now() });
        return Promise.resolve();
      },
      nodeId: 'node-a',
      // Tests stop agents while advancing 1 s of virtual time; wait less than that for polls
      // that ignore their abort signal.
      stopGraceMs: 500,
      ...options,
    });
    this.agent.status$.subscribe((s) => this.statuses.push(s));
  }
}
