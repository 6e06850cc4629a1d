import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_DELIMITER, GLOBAL_METRICS_TOPIC, topicNames } from '../../src/bus/topics.js';

describe('topicNames', () => {
  it('names the topics of a site with the default delimiter "-"', () => {
    const topics = topicNames();
    expect(DEFAULT_TOPIC_DELIMITER).toBe('-');
    expect(topics.resources('dc1')).toBe('dc1-resources');
    expect(topics.processed('dc1')).toBe('dc1-processed');
    expect(topics.deadLetter('dc1')).toBe('dc1-dead-letter');
  });

  it('uses a changed delimiter everywhere', () => {
    const topics = topicNames('.');
    expect(topics.resources('dc1')).toBe('dc1.resources');
    expect(topics.processed('dc2')).toBe('dc2.processed');
    expect(topics.deadLetter('dc2')).toBe('dc2.dead-letter');
    expect(topicNames('__').resources('lab')).toBe('lab__resources');
  });

  it('has one global metrics topic', () => {
    expect(GLOBAL_METRICS_TOPIC).toBe('panoptes-metrics');
  });
});
