/** A minimal SNMP GET through the net-snmp package, used to wait for agents to answer. */
import snmp from 'net-snmp';

export interface ProbeVarbind {
  readonly oid: string;
  readonly type: number;
  readonly value: unknown;
}

export function snmpGet(
  host: string,
  port: number,
  community: string,
  oids: readonly string[],
  timeoutMs = 1_000,
): Promise<ProbeVarbind[]> {
  return new Promise((resolve, reject) => {
    const session = snmp.createSession(host, community, {
      port,
      version: snmp.Version2c,
      timeout: timeoutMs,
      retries: 0,
    });
    session.on('error', (e: unknown) => {
      session.close();
      reject(e instanceof Error ? e : new Error(String(e)));
    });
    session.get([...oids], (error, varbinds) => {
      session.close();
      if (error !== null && error !== undefined) {
        reject(error);
        return;
      }
      resolve((varbinds ?? []).map((vb) => ({ oid: vb.oid, type: vb.type as number, value: vb.value })));
    });
  });
}
