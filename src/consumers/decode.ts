/**
 * The consumers' one decode path: a record of `<site>-processed` as a metrics group, or the
 * reason it is not one (for the dead-letter topic and the logs).
 */
import type { BusMessage } from '../bus/bus.js';
import { ValidationError, errorMessage } from '../errors.js';
import { parseMetricsGroupText } from '../model/metrics-group-text.js';
import type { MetricsGroup } from '../model/metrics-group.js';

export function readMetricsGroupMessage(message: BusMessage): { group: MetricsGroup } | { reason: string } {
  if (message.value === null) return { reason: 'no value (tombstone)' };
  const source = `${message.topic}[${message.partition}]@${message.offset}`;
  try {
    const parsed = parseMetricsGroupText(message.value.toString('utf8'), source);
    if (parsed.ok) return { group: parsed.value };
    return { reason: new ValidationError('MODEL_INVALID', `metrics group ${source}`, parsed.issues).message };
  } catch (e) {
    return { reason: errorMessage(e) };
  }
}
