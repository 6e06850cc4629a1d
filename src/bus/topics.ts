/** Topic names, built in one place: `<site><delimiter>resources`, `<site><delimiter>processed`. */

export const DEFAULT_TOPIC_DELIMITER = '-';
export const GLOBAL_METRICS_TOPIC = 'panoptes-metrics';

export interface TopicNames {
  /** Discovered resources, key resource_id, tombstone = removed. Compacted in production. */
  resources(site: string): string;
  /** Published metrics groups, key resource_id. */
  processed(site: string): string;
  /**
   * Records a stage could not accept (invalid, too large, refused by a sink), each with headers
   * naming the reason and its origin (source_topic, source_partition, source_offset, stage).
   */
  deadLetter(site: string): string;
}

export function topicNames(delimiter: string = DEFAULT_TOPIC_DELIMITER): TopicNames {
  return {
    resources: (site) => `${site}${delimiter}resources`,
    processed: (site) => `${site}${delimiter}processed`,
    deadLetter: (site) => `${site}${delimiter}dead-letter`,
  };
}
