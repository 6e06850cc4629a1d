/**
 * Compiles a filter's syntax tree into a predicate once, so evaluating it per resource is a few
 * closure calls: equality and IN are plain comparisons and Set lookups, LIKE patterns are
 * prepared matchers, and nothing is re-parsed or re-interpreted per resource.
 */
import { compileLike } from './like.js';
import { parseFilter } from './parser.js';
import type { FieldRef, FilterNode, FilterableResource } from './ast.js';

export type ResourcePredicate = (resource: FilterableResource) => boolean;

type Reader = (resource: FilterableResource) => string | undefined;

function reader(field: FieldRef): Reader {
  if (field.kind === 'resource') {
    const name = field.name;
    return (r) => r[name];
  }
  const key = field.key;
  return (r) => {
    const meta = r.resource_metadata;
    return Object.hasOwn(meta, key) ? meta[key] : undefined;
  };
}

/** A predicate that is true when the field is present and `test` accepts its value. */
function onValue(field: FieldRef, test: (value: string) => boolean): ResourcePredicate {
  const read = reader(field);
  return (r) => {
    const v = read(r);
    return v !== undefined && test(v);
  };
}

function negate(p: ResourcePredicate): ResourcePredicate {
  return (r) => !p(r);
}

export function compileNode(node: FilterNode): ResourcePredicate {
  switch (node.type) {
    case 'compare': {
      const value = node.value;
      const eq =
        node.field.kind === 'resource'
          ? (
              (name) => (r: FilterableResource) =>
                r[name] === value
            )(node.field.name)
          : onValue(node.field, (v) => v === value);
      return node.op === 'eq' ? eq : negate(eq);
    }
    case 'like': {
      const p = onValue(node.field, compileLike(node.pattern));
      return node.negated ? negate(p) : p;
    }
    case 'in': {
      const set = new Set(node.values);
      const p = onValue(node.field, (v) => set.has(v));
      return node.negated ? negate(p) : p;
    }
    case 'not':
      return negate(compileNode(node.operand));
    case 'and': {
      const ps = node.operands.map(compileNode);
      if (ps.length === 2) {
        const [a, b] = ps as [ResourcePredicate, ResourcePredicate];
        return (r) => a(r) && b(r);
      }
      return (r) => {
        for (const p of ps) if (!p(r)) return false;
        return true;
      };
    }
    case 'or': {
      const ps = node.operands.map(compileNode);
      if (ps.length === 2) {
        const [a, b] = ps as [ResourcePredicate, ResourcePredicate];
        return (r) => a(r) || b(r);
      }
      return (r) => {
        for (const p of ps) if (p(r)) return true;
        return false;
      };
    }
  }
}

/** Parses and compiles a filter; throws PanoptesError DSL_PARSE on a syntax error. */
export function compileFilter(query: string): ResourcePredicate {
  return compileNode(parseFilter(query));
}
