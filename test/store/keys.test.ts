import { describe, expect, it } from 'vitest';
import { DEFAULT_KEY_PREFIX, storeKeys } from '../../src/store/keys.js';

describe('storeKeys', () => {
  it('builds every key under the default prefix "panoptes"', () => {
    const keys = storeKeys();
    expect(DEFAULT_KEY_PREFIX).toBe('panoptes');
    expect(keys.prefix).toBe('panoptes');
    expect(keys.resource('dc1', 'r1')).toBe('panoptes:resources:dc1:r1');
    expect(keys.resourcesOfSite('dc1')).toBe('panoptes:resources:dc1:');
    expect(keys.enrichment('r1', 'interface')).toBe('panoptes:enrichment:r1:interface');
    expect(keys.secret('snmp_community', 'dc1')).toBe('panoptes:secrets:snmp_community:dc1');
    expect(keys.secretDefault('snmp_community')).toBe('panoptes:secrets:snmp_community:default');
    expect(keys.lock('interface_polling', 'r1')).toBe('panoptes:lock:interface_polling:r1');
    expect(keys.last('interface_polling', 'r1')).toBe('panoptes:last:interface_polling:r1');
    expect(keys.counters('r1', 'interface_polling')).toBe('panoptes:counters:r1:interface_polling');
  });

  it('uses a changed prefix for every key', () => {
    const keys = storeKeys('lab');
    expect(keys.prefix).toBe('lab');
    expect(keys.resource('dc1', 'r1')).toBe('lab:resources:dc1:r1');
    expect(keys.resourcesOfSite('dc2')).toBe('lab:resources:dc2:');
    expect(keys.enrichment('r1', 'ns')).toBe('lab:enrichment:r1:ns');
    expect(keys.secret('community', 'dc2')).toBe('lab:secrets:community:dc2');
    expect(keys.secretDefault('community')).toBe('lab:secrets:community:default');
    expect(keys.lock('p', 'r1')).toBe('lab:lock:p:r1');
    expect(keys.last('p', 'r1')).toBe('lab:last:p:r1');
    expect(keys.counters('r1', 'p')).toBe('lab:counters:r1:p');
  });

  it("a site's resource keys all start with resourcesOfSite, and no other site's do", () => {
    const keys = storeKeys();
    expect(keys.resource('dc1', 'sw1.example.com').startsWith(keys.resourcesOfSite('dc1'))).toBe(true);
    // 'dc1' must not select the resources of site 'dc10'.
    expect(keys.resource('dc10', 'sw1').startsWith(keys.resourcesOfSite('dc1'))).toBe(false);
  });

  it('keeps the order of its arguments (lock and last are plugin first, counters resource first)', () => {
    const keys = storeKeys();
    expect(keys.lock('A', 'B')).not.toBe(keys.lock('B', 'A'));
    expect(keys.counters('B', 'A')).toBe('panoptes:counters:B:A');
    expect(keys.last('A', 'B')).toBe('panoptes:last:A:B');
  });
});
