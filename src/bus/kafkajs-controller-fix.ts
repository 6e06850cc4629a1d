/**
 * kafkajs sends an idempotent producer's InitProducerId request to the cluster's controller.
 * Any broker can answer it; when the metadata names a controller that is not among its brokers
 * (librdkafka's mock cluster, the project's test broker, reports controller 0 while its brokers
 * are 1..n), kafkajs fails with "Controller broker with id 0 not found" and the producer never
 * connects. The patched `findControllerBroker` then uses the first broker of the metadata; with
 * a controller that exists (every real cluster) it does what it did. Applied to kafkajs 2.2.x
 * only, like the idle fix.
 */
import { createRequire } from 'node:module';
import { KAFKAJS_IDLE_LOOP_VERSIONS } from './kafkajs-idle-fix.js';

interface BrokerPoolLike {
  metadata?: { controllerId?: number | null; brokers?: { nodeId: number }[] } | null;
}

interface ClusterLike {
  brokerPool: BrokerPoolLike;
  findBroker(query: { nodeId: number }): Promise<unknown>;
  findControllerBroker(this: ClusterLike): Promise<unknown>;
}

const PATCHED = Symbol.for('panoptes.kafkajs.controllerFix');

/** Patches kafkajs's Cluster once per process; returns whether the fix is in place. */
export function applyKafkajsControllerFix(): boolean {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (!KAFKAJS_IDLE_LOOP_VERSIONS.test(version)) return false;
  const Cluster = require('kafkajs/src/cluster/index.js') as { prototype: ClusterLike };
  const proto = Cluster.prototype as ClusterLike & { [PATCHED]?: true };
  if (proto[PATCHED] === true) return true;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this) below
  const original = proto.findControllerBroker;
  proto.findControllerBroker = async function findControllerBroker(this: ClusterLike): Promise<unknown> {
    const metadata = this.brokerPool.metadata;
    const brokers = metadata?.brokers ?? [];
    const controller = metadata?.controllerId;
    const first = brokers[0];
    if (
      controller !== undefined &&
      controller !== null &&
      first !== undefined &&
      !brokers.some((b) => b.nodeId === controller)
    ) {
      return this.findBroker({ nodeId: first.nodeId });
    }
    return original.call(this);
  };
  proto[PATCHED] = true;
  return true;
}
