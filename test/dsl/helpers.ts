/**
 * Builders for filter syntax trees and resources, and a helper that captures a parse error; shared
 * by the DSL tests.
 */
import { PanoptesError, errorMessage } from '../../src/errors.js';
import { parseFilter } from '../../src/dsl/index.js';
import type {
  FieldRef,
  FilterNode,
  FilterableResource,
  InNode,
  LikeNode,
  CompareNode,
  ResourceField,
} from '../../src/dsl/index.js';

export function res(name: ResourceField): FieldRef {
  return { kind: 'resource', name };
}

export function meta(key: string): FieldRef {
  return { kind: 'metadata', key };
}

export function eq(field: FieldRef, value: string): CompareNode {
  return { type: 'compare', field, op: 'eq', value };
}

export function ne(field: FieldRef, value: string): CompareNode {
  return { type: 'compare', field, op: 'ne', value };
}

export function like(field: FieldRef, pattern: string, negated = false): LikeNode {
  return { type: 'like', field, negated, pattern };
}

export function inList(field: FieldRef, values: readonly string[], negated = false): InNode {
  return { type: 'in', field, negated, values };
}

export function and(...operands: FilterNode[]): FilterNode {
  return { type: 'and', operands };
}

export function or(...operands: FilterNode[]): FilterNode {
  return { type: 'or', operands };
}

export function not(operand: FilterNode): FilterNode {
  return { type: 'not', operand };
}

export function resource(
  overrides: Partial<Omit<FilterableResource, 'resource_metadata'>> = {},
  metadata: Record<string, string> = {},
): FilterableResource {
  return {
    resource_site: 'dc1',
    resource_class: 'network',
    resource_subclass: 'switch',
    resource_type: 'cisco',
    resource_id: 'switch1',
    resource_endpoint: '192.0.2.10',
    resource_creation_plugin: 'discovery_from_file',
    resource_metadata: metadata,
    ...overrides,
  };
}

/** The error parseFilter throws for `query`; fails the test if the query parses or throws something else. */
export function parseError(query: string): PanoptesError {
  const shown = JSON.stringify(query.length > 80 ? `${query.slice(0, 80)}...` : query);
  let thrown: unknown;
  try {
    parseFilter(query);
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error(`expected a parse error for ${shown}`);
  if (!(thrown instanceof PanoptesError)) {
    throw new Error(`expected a PanoptesError for ${shown}, got: ${errorMessage(thrown)}`);
  }
  return thrown;
}
