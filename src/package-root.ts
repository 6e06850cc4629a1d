/** Where this package is installed, from src/ (TypeScript) or dist/src/ (compiled) alike. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when this file runs as TypeScript (vitest, tsx): .ts modules can be imported as they are. */
export const RUNNING_TYPESCRIPT = import.meta.url.endsWith('.ts');

/** The package root: src/package-root.ts or dist/src/package-root.js below it. */
export const PACKAGE_ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  RUNNING_TYPESCRIPT ? '..' : '../..',
);

/** The package's own plugins: modules and the plugin files active unless plugins.builtin is false. */
export const BUILTIN_PLUGINS_DIR = join(PACKAGE_ROOT, 'plugins');

/** The built-in SNMP profiles. */
export const BUILTIN_PROFILES_DIR = join(BUILTIN_PLUGINS_DIR, 'profiles');
