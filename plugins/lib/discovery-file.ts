/**
 * What the file discovery plugins (discovery-json, discovery-csv) share: their [options], reading
 * the inventory file and the defaults filled into every record before it is validated.
 *
 *   [options] file   the inventory, relative to the directory of the .panoptes-plugin file or
 *                    absolute (required); read anew on every run, so edits are picked up
 *
 * Defaults, filled only where the record leaves the field out:
 *   resource_creation_plugin     the plugin's Name ([Core] Name of the plugin file), unless the
 *                                record gives it or its alias resource_plugin
 *   resource_creation_timestamp  the time of the discovery run (one value for the whole run)
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PanoptesError, errorMessage, option } from '../../src/index.js';
import type { PluginContext, Resource } from '../../src/index.js';

export interface InventoryFile {
  /** Absolute path of the inventory. */
  readonly path: string;
  /** The value of `[options] file` as written. */
  readonly option: string;
}

/** The `file` option of both discovery plugins. */
export const FILE_OPTION = option.text('the inventory, relative to the plugin file or absolute');

/** The inventory named by `[options] file`, resolved against the plugin file's directory. */
export function inventoryFile(ctx: PluginContext, file: string): InventoryFile {
  return { path: resolve(dirname(ctx.config.file), file), option: file };
}

/** The bytes of the inventory; a file that cannot be read is a FILE_READ error naming it and the option. */
export async function readInventory(ctx: PluginContext, file: InventoryFile): Promise<Buffer> {
  try {
    return await readFile(file.path, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    const reason = (e as NodeJS.ErrnoException).code ?? errorMessage(e);
    throw new PanoptesError(
      'FILE_READ',
      `${file.path}: cannot read: ${reason} ([options] file = ${file.option} in ${ctx.config.file})`,
      { cause: e, details: { file: file.path, plugin: ctx.config.name } },
    );
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The record with the run's defaults where it leaves fields out (see the header). Anything that
 * is not an object is returned as it is, for validation to report.
 */
export function withDefaults(record: unknown, plugin: string, now: number): unknown {
  if (!isPlainObject(record)) return record;
  const out: Record<string, unknown> = { ...record };
  if (!Object.hasOwn(out, 'resource_creation_plugin') && !Object.hasOwn(out, 'resource_plugin')) {
    out['resource_creation_plugin'] = plugin;
  }
  if (!Object.hasOwn(out, 'resource_creation_timestamp')) out['resource_creation_timestamp'] = now;
  return out;
}

/** What makes two resources the same one (as in the store): site and id. */
export function resourceKey(resource: Resource): string {
  return `${resource.resource_site}\u0000${resource.resource_id}`;
}
