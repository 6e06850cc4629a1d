import { hostname } from 'node:os';
import snmp from 'net-snmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snmpGet } from './snmp-probe.js';
import { startSnmpd } from './snmpd.js';
import type { SnmpdService } from './snmpd.js';

const SYS_DESCR = '1.3.6.1.2.1.1.1.0';
const SYS_CONTACT = '1.3.6.1.2.1.1.4.0';
const SYS_LOCATION = '1.3.6.1.2.1.1.6.0';

describe('snmpd test service (net-snmp agent)', () => {
  let agent: SnmpdService;

  beforeAll(async () => {
    agent = await startSnmpd();
  });

  afterAll(async () => {
    await agent.stop();
  });

  it('answers a net-snmp GET of sysDescr describing this host, and our configured sysLocation', async () => {
    const vbs = await snmpGet(agent.host, agent.port, agent.community, [
      SYS_DESCR,
      SYS_LOCATION,
      SYS_CONTACT,
    ]);
    expect(vbs.map((v) => v.oid)).toEqual([SYS_DESCR, SYS_LOCATION, SYS_CONTACT]);
    const [descr, location, contact] = vbs;
    expect(descr?.type).toBe(snmp.ObjectType.OctetString);
    expect(String(descr?.value)).toContain(hostname());
    expect(String(location?.value)).toBe(agent.sysLocation);
    expect(String(contact?.value)).toBe(agent.sysContact);
  });

  it('ignores a wrong community (times out)', async () => {
    await expect(snmpGet(agent.host, agent.port, 'not-the-community', [SYS_DESCR], 300)).rejects.toThrow(
      /timed out/i,
    );
  });
});
