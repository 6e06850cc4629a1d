/**
 * INI as Panoptes read it (Python's ConfigParser with its defaults), which the `ini` npm package
 * does not match: `;` and `#` start a comment only at the beginning of a line, never inside a
 * value (a resource filter such as `note = "a;b#c"` must survive); `key = value` or
 * `key: value`; an indented line continues the previous value; section and key names keep their
 * spelling (callers compare them case-insensitively). Every section and key remembers its line.
 */

export interface IniEntry {
  readonly key: string;
  value: string;
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly entries: IniEntry[];
}

export interface IniProblem {
  readonly line: number;
  /** The key the problem is about, when there is one. */
  readonly key?: string;
  readonly message: string;
}

export interface IniDocument {
  readonly sections: IniSection[];
  readonly problems: IniProblem[];
}

export function parseIni(text: string): IniDocument {
  const sections: IniSection[] = [];
  const problems: IniProblem[] = [];
  let current: IniSection | undefined;
  let last: IniEntry | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '' || /^\s*[;#]/.test(raw)) {
      last = undefined;
      return;
    }
    if (/^\s/.test(raw) && last !== undefined) {
      last.value = last.value === '' ? raw.trim() : `${last.value}\n${raw.trim()}`;
      return;
    }
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (header !== null) {
      current = { name: (header[1] ?? '').trim(), line, entries: [] };
      sections.push(current);
      last = undefined;
      return;
    }
    const kv = /^\s*([^=:\s][^=:]*?)\s*[=:]\s?(.*)$/.exec(raw);
    if (kv === null) {
      problems.push({
        line,
        message: `line ${line}: expected "key = value" or "[section]", got "${raw.trim()}"`,
      });
      last = undefined;
      return;
    }
    if (current === undefined) {
      problems.push({ line, key: kv[1] ?? '', message: `key outside any section (line ${line})` });
      last = undefined;
      return;
    }
    last = { key: kv[1] ?? '', value: (kv[2] ?? '').trim(), line };
    current.entries.push(last);
  });
  return { sections, problems };
}
