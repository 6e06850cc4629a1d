import { describe, it, expect } from 'vitest';
import { parseJson, stringifyJson } from '../../src/model/json.js';
import {
  DEFAULT_RESOURCE_TTL_SECONDS,
  RESOURCE_TTL_KEY,
  parseResource,
  resourceTtlSeconds,
  resourceToJson,
} from '../../src/model/resource.js';
import { issuesOf, lines, resourceJson, valueOf, without } from './fixtures.js';

const NAME_RULE = 'key must match ^[A-Za-z_][A-Za-z0-9_]*$';
const TTL_RULE = 'must be a positive integer number of seconds';

function withMetadata(metadata: unknown): Record<string, unknown> {
  return resourceJson({ resource_metadata: metadata });
}

describe('parseResource: valid input', () => {
  it('accepts a complete resource and returns it unchanged', () => {
    const input = resourceJson();
    expect(valueOf(parseResource(input))).toEqual(input);
  });

  it('accepts a resource without metadata and gives it an empty metadata object', () => {
    const r = valueOf(parseResource(without(resourceJson(), 'resource_metadata')));
    expect(r.resource_metadata).toEqual({});
  });

  it('defaults a missing creation timestamp to about now, in seconds', () => {
    const before = Date.now() / 1000;
    const r = valueOf(parseResource(without(resourceJson(), 'resource_creation_timestamp')));
    const after = Date.now() / 1000;
    expect(r.resource_creation_timestamp).toBeGreaterThanOrEqual(before);
    expect(r.resource_creation_timestamp).toBeLessThanOrEqual(after);
  });

  it('accepts sites with the characters Kafka topic names allow', () => {
    for (const site of ['dc1', 'us-east.1', 'a_b', 'X-Y.z_0']) {
      expect(parseResource(resourceJson({ resource_site: site })).ok, site).toBe(true);
    }
  });
});

describe('parseResource: resource_plugin alias', () => {
  it('folds resource_plugin into resource_creation_plugin', () => {
    const input = {
      ...without(resourceJson(), 'resource_creation_plugin'),
      resource_plugin: 'legacy_plugin',
    };
    const r = valueOf(parseResource(input));
    expect(r.resource_creation_plugin).toBe('legacy_plugin');
    expect(Object.keys(r)).not.toContain('resource_plugin');
  });

  it('accepts both when they are equal', () => {
    const r = valueOf(parseResource(resourceJson({ resource_plugin: 'discovery_from_file' })));
    expect(r.resource_creation_plugin).toBe('discovery_from_file');
    expect(Object.keys(r)).not.toContain('resource_plugin');
  });

  it('reports both given and different at $.resource_plugin', () => {
    const issues = issuesOf(parseResource(resourceJson({ resource_plugin: 'other_plugin' })));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('$.resource_plugin');
    expect(issues[0]?.message).toMatch(/differs from resource_creation_plugin/);
  });

  it('reports a missing resource_creation_plugin as required', () => {
    const issues = issuesOf(parseResource(without(resourceJson(), 'resource_creation_plugin')));
    expect(lines(issues)).toEqual(['$.resource_creation_plugin: is required (or its alias resource_plugin)']);
  });
});

describe('parseResource: _resource_ttl', () => {
  it.each([
    ['the number 3600', 3600],
    ['the string "3600"', '3600'],
    ['a string with spaces around', ' 3600 '],
  ])('normalises %s to the string "3600"', (_label, ttl) => {
    const r = valueOf(parseResource(withMetadata({ [RESOURCE_TTL_KEY]: ttl })));
    expect(r.resource_metadata[RESOURCE_TTL_KEY]).toBe('3600');
    expect(resourceTtlSeconds(r)).toBe(3600);
  });

  it.each([
    ['-1', -1],
    ['"abc"', 'abc'],
    ['0', 0],
    ['"0"', '0'],
    ['1.5', 1.5],
    ['""', ''],
    ['"-5"', '-5'],
    ['2^53 (not a safe integer)', 9007199254740992],
  ])('rejects %s at $.resource_metadata._resource_ttl', (_label, ttl) => {
    const issues = issuesOf(parseResource(withMetadata({ [RESOURCE_TTL_KEY]: ttl })));
    expect(lines(issues)).toEqual([`$.resource_metadata._resource_ttl: ${TTL_RULE}`]);
  });

  it('rejects a ttl of the wrong type and says what it got', () => {
    const issues = issuesOf(parseResource(withMetadata({ [RESOURCE_TTL_KEY]: true })));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('$.resource_metadata._resource_ttl');
    expect(issues[0]?.message).toBe(`${TTL_RULE}, got a boolean`);
  });

  it('defaults to 604800 seconds (one week) when absent', () => {
    expect(DEFAULT_RESOURCE_TTL_SECONDS).toBe(604800);
    expect(resourceTtlSeconds(valueOf(parseResource(resourceJson())))).toBe(604800);
  });
});

describe('parseResource: metadata', () => {
  it('reports a non-string value with its path and type', () => {
    const issues = issuesOf(parseResource(withMetadata({ ok: 'x', rack: 12, owner: null })));
    expect(lines(issues)).toEqual([
      '$.resource_metadata.rack: must be a string, got an integer',
      '$.resource_metadata.owner: must be a string, got null',
    ]);
  });

  it('reports keys that are not names, quoting them in the path', () => {
    const issues = issuesOf(parseResource(withMetadata({ '1abc': 'x', 'a-b': 'y', good_key: 'z' })));
    expect(lines(issues)).toEqual([
      `$.resource_metadata["1abc"]: ${NAME_RULE}`,
      `$.resource_metadata["a-b"]: ${NAME_RULE}`,
    ]);
  });

  it('rejects metadata that is not an object', () => {
    expect(lines(issuesOf(parseResource(withMetadata(['a']))))).toEqual([
      '$.resource_metadata: must be an object, got an array',
    ]);
    expect(lines(issuesOf(parseResource(withMetadata('a=b'))))).toEqual([
      '$.resource_metadata: must be an object, got a string',
    ]);
  });
});

describe('parseResource: other problems', () => {
  it('reports an unknown top-level key', () => {
    expect(lines(issuesOf(parseResource(resourceJson({ foo: 1 }))))).toEqual(['$.foo: unknown key']);
  });

  it('rejects a site with a space', () => {
    const issues = issuesOf(parseResource(resourceJson({ resource_site: 'dc 1' })));
    expect(lines(issues)).toEqual(['$.resource_site: must match ^[A-Za-z0-9._-]+$']);
  });

  it('rejects empty strings and control characters', () => {
    expect(lines(issuesOf(parseResource(resourceJson({ resource_endpoint: '' }))))).toEqual([
      '$.resource_endpoint: must not be empty',
    ]);
    expect(lines(issuesOf(parseResource(resourceJson({ resource_id: 'a\nb' }))))).toEqual([
      '$.resource_id: must not contain control characters',
    ]);
  });

  it('rejects a negative creation timestamp', () => {
    expect(lines(issuesOf(parseResource(resourceJson({ resource_creation_timestamp: -1 }))))).toEqual([
      '$.resource_creation_timestamp: must not be negative',
    ]);
  });

  it.each([
    [null, 'null'],
    [[], 'an array'],
    ['resource', 'a string'],
    [7, 'an integer'],
  ])('rejects %j at the root: must be an object, got %s', (input, got) => {
    expect(lines(issuesOf(parseResource(input)))).toEqual([`$: must be an object, got ${got}`]);
  });

  it('reports every problem at once', () => {
    const input = {
      resource_id: '',
      resource_site: 'a b',
      resource_endpoint: 5,
      resource_class: null,
      resource_type: 't',
      resource_creation_timestamp: -1,
      resource_metadata: { 'x y': 'a', _resource_ttl: 'abc', k: 3 },
      foo: 1,
    };
    const issues = issuesOf(parseResource(input));
    expect(lines(issues)).toEqual([
      '$.resource_id: must not be empty',
      '$.resource_site: must match ^[A-Za-z0-9._-]+$',
      '$.resource_endpoint: must be a string, got an integer',
      '$.resource_class: must be a string, got null',
      '$.resource_subclass: is required',
      '$.resource_creation_timestamp: must not be negative',
      '$.resource_creation_plugin: is required (or its alias resource_plugin)',
      `$.resource_metadata["x y"]: ${NAME_RULE}`,
      `$.resource_metadata._resource_ttl: ${TTL_RULE}`,
      '$.resource_metadata.k: must be a string, got an integer',
      '$.foo: unknown key',
    ]);
    expect(issues).toHaveLength(11);
  });

  it('puts paths under the given root', () => {
    const issues = issuesOf(parseResource(resourceJson({ foo: 1 }), '$.resources[3]'));
    expect(lines(issues)).toEqual(['$.resources[3].foo: unknown key']);
  });
});

describe('resourceToJson', () => {
  it('round-trips a parsed resource to the same wire form', () => {
    const input = resourceJson({ resource_metadata: { model: 'C9300', _resource_ttl: '3600' } });
    const r = valueOf(parseResource(input));
    const json = resourceToJson(r);
    expect(json).toEqual(input);
    expect(valueOf(parseResource(json))).toEqual(r);
  });

  it('writes the fields in the wire order, normalised', () => {
    const input = {
      resource_metadata: { _resource_ttl: 60 },
      resource_plugin: 'p',
      resource_type: 't',
      resource_subclass: 's',
      resource_class: 'c',
      resource_endpoint: 'e',
      resource_site: 'site',
      resource_id: 'id',
      resource_creation_timestamp: 1.5,
    };
    const text = stringifyJson(resourceToJson(valueOf(parseResource(input))));
    expect(text).toBe(
      '{"resource_id":"id","resource_site":"site","resource_endpoint":"e","resource_class":"c",' +
        '"resource_subclass":"s","resource_type":"t","resource_creation_timestamp":1.5,' +
        '"resource_creation_plugin":"p","resource_metadata":{"_resource_ttl":"60"}}',
    );
  });

  it('gives a copy of the metadata, not the parsed object itself', () => {
    const r = valueOf(parseResource(resourceJson()));
    const json = resourceToJson(r);
    expect(json['resource_metadata']).toEqual(r.resource_metadata);
    expect(json['resource_metadata']).not.toBe(r.resource_metadata);
  });

  it('survives text -> parseJson -> parseResource -> resourceToJson -> stringifyJson unchanged', () => {
    const text = stringifyJson(resourceJson());
    expect(stringifyJson(resourceToJson(valueOf(parseResource(parseJson(text)))))).toBe(text);
  });
});
