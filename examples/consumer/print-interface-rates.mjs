#!/usr/bin/env node
/**
 * A consumer of your own: prints the traffic rates of every interface as Panoptes-TS publishes
 * them. Run it next to a distributed deployment (or `npm run demo:distributed`):
 *
 *   node examples/consumer/print-interface-rates.mjs --brokers 127.0.0.1:9092 --site lab
 *
 * Instances started with the same --group share the work (Kafka consumer group); each record is
 * committed after the handler returned. Ctrl-C stops it cleanly.
 */
import { parseArgs } from 'node:util';
import { subscribeMetricsGroups } from 'panoptes-ts';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string' },
    site: { type: 'string' },
    group: { type: 'string', default: 'print-interface-rates' },
    'from-beginning': { type: 'boolean', default: false },
  },
});
if (values.brokers === undefined || values.site === undefined) {
  process.stderr.write(
    'usage: print-interface-rates.mjs --brokers HOST:PORT[,...] --site SITE [--group G] [--from-beginning]\n',
  );
  process.exit(2);
}

const subscription = await subscribeMetricsGroups({
  kafka: { brokers: values.brokers.split(',') },
  site: values.site,
  groupId: values.group,
  fromBeginning: values['from-beginning'],
  handler: (group) => {
    if (group.metrics_group_type !== 'interface') return;
    const name = group.dimensions.find((d) => d.dimension_name === 'interface_name')?.dimension_value;
    const rate = (metric) =>
      group.metrics.find((m) => m.metric_name === metric && m.metric_type === 'gauge')?.metric_value;
    const bitsIn = rate('bits_in');
    if (bitsIn === undefined) return; // the first poll of a series has no rate yet
    process.stdout.write(
      `${group.resource.resource_id} ${name} in ${Number(bitsIn).toFixed(0)} bit/s out ${Number(rate('bits_out')).toFixed(0)} bit/s\n`,
    );
  },
});

const stop = () => {
  subscription.stop().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`stopping failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
