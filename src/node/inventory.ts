/**
 * The inventory: `<site>-resources` is a table (one record per resource, key resource_id,
 * tombstones remove) that every polling node reads whole. It must be compacted: where the cluster
 * drops older records by retention instead, devices vanish from the pollers. This checks it once
 * at start and says what it found.
 */
import type { MessageBus } from '../bus/bus.js';
import type { Logger } from '../log.js';

export async function checkResourcesTable(bus: MessageBus, topic: string, logger: Logger): Promise<void> {
  const check = await bus.prepareTable(topic);
  switch (check.state) {
    case 'created':
      logger.info({ topic }, `created ${topic} with cleanup.policy=compact`);
      return;
    case 'compacted':
      logger.debug({ topic }, `${topic} is compacted`);
      return;
    case 'not compacted':
      logger.warn(
        { topic, policy: check.policy },
        `${topic} has cleanup.policy=${check.policy}: the cluster drops older resource records, and ` +
          'devices published only then stop being polled after a restart; set cleanup.policy=compact ' +
          '(README, "The inventory")',
      );
      return;
    case 'unknown':
      logger.warn(
        { topic, reason: check.reason },
        `could not check that ${topic} is compacted (${check.reason}); on a Kafka cluster create it with ` +
          'cleanup.policy=compact (README, "The inventory")',
      );
  }
}
