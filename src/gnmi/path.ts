/**
 * gNMI paths as text and as messages (gNMI specification 2.2.2 and the path conventions):
 *
 *   /interfaces/interface[name=Ethernet1]/state/counters/in-octets
 *   openconfig:/components/component[name=CPU0]/state/temperature/instant
 *   /network-instances/network-instance[name=default]/protocols/protocol[identifier=BGP][name=BGP]
 *
 * An element is a name with optional `[key=value]` pairs. In a key value, `\]` and `\\` stand
 * for `]` and `\`; `/` and `=` need no escape inside brackets. A leading `origin:` (before the
 * first `/`) names the path's origin. An empty path (`/` or ``) is the root.
 */
import { PanoptesError } from '../errors.js';

export interface PathElem {
  readonly name: string;
  /** Key name -> value; empty for an element without keys. */
  readonly key: Readonly<Record<string, string>>;
}

export interface GnmiPath {
  readonly origin?: string;
  readonly elem: readonly PathElem[];
  readonly target?: string;
}

/** A text path as a gNMI path; throws naming the position of a syntax error. */
export function parsePath(text: string): GnmiPath {
  let rest = text.trim();
  let origin: string | undefined;
  const colon = /^([A-Za-z_][A-Za-z0-9_.-]*):(?=\/|$)/.exec(rest);
  if (colon !== null) {
    origin = colon[1];
    rest = rest.slice(colon[0].length);
  }
  const elem: PathElem[] = [];
  const fail = (at: number, why: string): never => {
    throw new PanoptesError('USAGE', `gNMI path ${JSON.stringify(text)}: ${why} at character ${at + 1}`);
  };
  const offset = text.length - rest.length;
  let i = 0;
  if (rest.startsWith('/')) i = 1;
  while (i < rest.length) {
    let name = '';
    while (i < rest.length && rest[i] !== '/' && rest[i] !== '[') {
      name += rest[i];
      i++;
    }
    if (name === '') fail(offset + i, 'empty element name');
    const key: Record<string, string> = {};
    while (rest[i] === '[') {
      i++;
      let k = '';
      while (i < rest.length && rest[i] !== '=' && rest[i] !== ']') k += rest[i++];
      if (rest[i] !== '=' || k === '') fail(offset + i, 'expected key=value in brackets');
      i++;
      let v = '';
      for (;;) {
        if (i >= rest.length) fail(offset + i, 'unclosed [');
        const c = rest[i] as string;
        if (c === '\\' && i + 1 < rest.length) {
          v += rest[i + 1];
          i += 2;
          continue;
        }
        if (c === ']') break;
        v += c;
        i++;
      }
      i++; // the ]
      key[k] = v;
    }
    elem.push({ name, key });
    if (i < rest.length) {
      if (rest[i] !== '/') fail(offset + i, `unexpected ${JSON.stringify(rest[i])}`);
      i++;
      if (i === rest.length) break; // a trailing slash
    }
  }
  return origin === undefined ? { elem } : { origin, elem };
}

function escapeKeyValue(v: string): string {
  return v.replace(/[\\\]]/g, (c) => `\\${c}`);
}

/** A gNMI path as text (keys sorted by name, so equal paths give equal text). */
export function pathToString(path: GnmiPath): string {
  let out = path.origin === undefined || path.origin === '' ? '' : `${path.origin}:`;
  for (const e of path.elem) {
    out += `/${e.name}`;
    for (const k of Object.keys(e.key).sort()) out += `[${k}=${escapeKeyValue(e.key[k] as string)}]`;
  }
  return out === '' || out.endsWith(':') ? `${out}/` : out;
}

/** prefix + path: the prefix's elements then the path's (the path's origin wins if it has one). */
export function joinPaths(prefix: GnmiPath | undefined, path: GnmiPath): GnmiPath {
  if (prefix === undefined) return path;
  const origin = path.origin !== undefined && path.origin !== '' ? path.origin : prefix.origin;
  const elem = [...prefix.elem, ...path.elem];
  return origin === undefined ? { elem } : { origin, elem };
}

/** Reads the deprecated `element` form (a list of names, keys written inside) into elems. */
export function elementsToElems(elements: readonly string[]): PathElem[] {
  return elements.map((e) => {
    const parsed = parsePath(`/${e}`);
    return parsed.elem[0] ?? { name: e, key: {} };
  });
}
