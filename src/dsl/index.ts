export * from './ast.js';
export { parseFilter } from './parser.js';
export { compileFilter, compileNode } from './compile.js';
export type { ResourcePredicate } from './compile.js';
export { evaluateFilter } from './interpret.js';
export { compileLike, matchLike } from './like.js';
