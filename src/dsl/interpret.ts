/**
 * The straightforward way to evaluate a filter: walk the syntax tree for every resource, matching
 * LIKE patterns from scratch each time. Kept as the reference that the compiled predicates are
 * property-tested against and benchmarked beside; not used on any hot path.
 */
import { readField } from './ast.js';
import type { FilterNode, FilterableResource } from './ast.js';
import { matchLike } from './like.js';

export function evaluateFilter(node: FilterNode, resource: FilterableResource): boolean {
  switch (node.type) {
    case 'compare': {
      const v = readField(resource, node.field);
      const eq = v !== undefined && v === node.value;
      return node.op === 'eq' ? eq : !eq;
    }
    case 'like': {
      const v = readField(resource, node.field);
      const m = v !== undefined && matchLike(node.pattern, v);
      return node.negated ? !m : m;
    }
    case 'in': {
      const v = readField(resource, node.field);
      const m = v !== undefined && node.values.includes(v);
      return node.negated ? !m : m;
    }
    case 'not':
      return !evaluateFilter(node.operand, resource);
    case 'and':
      return node.operands.every((o) => evaluateFilter(o, resource));
    case 'or':
      return node.operands.some((o) => evaluateFilter(o, resource));
  }
}
