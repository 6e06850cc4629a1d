/**
 * The join itself: enrichment values of one key (an ifIndex, ...) become dimensions of a metrics
 * group. Values are written as strings (numbers in full, bigint digits exact); empty values are
 * left out, as a dimension value must not be empty.
 */
import type { Dimension, EnrichmentGroup, EnrichmentValue } from '../model/index.js';

/** Which enrichment field becomes which dimension. */
export interface JoinField {
  readonly field: string;
  readonly dimension: string;
}

export function dimensionValue(value: EnrichmentValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : String(value);
  return text === '' ? undefined : text;
}

/** The dimensions for `key` of a group; undefined when the group lacks the key. */
export function joinDimensions(
  group: EnrichmentGroup | undefined,
  key: string,
  fields: readonly JoinField[],
): Dimension[] | undefined {
  if (group === undefined || !Object.hasOwn(group.data, key)) return undefined;
  const values = group.data[key];
  if (values === undefined) return undefined;
  return dimensionsFrom(values, fields);
}

/** The dimensions from one flat record of values. */
export function dimensionsFrom(
  values: Readonly<Record<string, EnrichmentValue | undefined>>,
  fields: readonly JoinField[],
): Dimension[] {
  const out: Dimension[] = [];
  for (const { field, dimension } of fields) {
    const v = Object.hasOwn(values, field) ? dimensionValue(values[field]) : undefined;
    if (v !== undefined) out.push({ dimension_name: dimension, dimension_value: v });
  }
  return out;
}
