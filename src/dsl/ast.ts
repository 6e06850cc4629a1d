/**
 * The resource filter DSL's syntax tree. The parser builds it, the compiler turns it into a
 * predicate, the interpreter walks it directly (kept as the reference the compiler is
 * benchmarked and property-tested against).
 */

/** The resource fields a filter may name (`resource_plugin` is parsed as `resource_creation_plugin`). */
export const RESOURCE_FIELDS = [
  'resource_site',
  'resource_class',
  'resource_subclass',
  'resource_type',
  'resource_id',
  'resource_endpoint',
  'resource_creation_plugin',
] as const;

export type ResourceField = (typeof RESOURCE_FIELDS)[number];

export type FieldRef =
  | { readonly kind: 'resource'; readonly name: ResourceField }
  | { readonly kind: 'metadata'; readonly key: string };

/** `=`/`eq` and `!=`/`ne`. */
export interface CompareNode {
  readonly type: 'compare';
  readonly field: FieldRef;
  readonly op: 'eq' | 'ne';
  readonly value: string;
}

/** `[NOT] LIKE 'pattern'`: `%` any run, `_` one character, `\%` and `\_` literals. */
export interface LikeNode {
  readonly type: 'like';
  readonly field: FieldRef;
  readonly negated: boolean;
  readonly pattern: string;
}

/** `[NOT] IN ('a', 'b')`. */
export interface InNode {
  readonly type: 'in';
  readonly field: FieldRef;
  readonly negated: boolean;
  readonly values: readonly string[];
}

export interface AndNode {
  readonly type: 'and';
  readonly operands: readonly FilterNode[];
}

export interface OrNode {
  readonly type: 'or';
  readonly operands: readonly FilterNode[];
}

export interface NotNode {
  readonly type: 'not';
  readonly operand: FilterNode;
}

export type ConditionNode = CompareNode | LikeNode | InNode;
export type FilterNode = ConditionNode | AndNode | OrNode | NotNode;

/** What a filter is evaluated against: the fields of a Resource it reads. */
export interface FilterableResource {
  readonly resource_site: string;
  readonly resource_class: string;
  readonly resource_subclass: string;
  readonly resource_type: string;
  readonly resource_id: string;
  readonly resource_endpoint: string;
  readonly resource_creation_plugin: string;
  readonly resource_metadata: Readonly<Record<string, string>>;
}

/** The value a field reference reads, or undefined for a metadata key the resource lacks. */
export function readField(resource: FilterableResource, field: FieldRef): string | undefined {
  if (field.kind === 'resource') return resource[field.name];
  const meta = resource.resource_metadata;
  return Object.hasOwn(meta, field.key) ? meta[field.key] : undefined;
}
