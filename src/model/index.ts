export * from './json.js';
export * from './validation.js';
export * from './resource.js';
export * from './metrics-group.js';
export * from './enrichment.js';
export * from './sets.js';
export * from './polling-status.js';
export * from './metrics-group-text.js';
