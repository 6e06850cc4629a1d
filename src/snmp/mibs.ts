/**
 * The one home of the standard MIB objects the project reads: each object's name and OID (for a
 * column, the column; for a scalar, without the `.0` instance). The simulator builds its devices
 * from these, the plugins and the profiles' tests read them, and a profile may write
 * `hrStorageDescr` or `sysUpTime.0` where it would write the numeric OID. Vendor MIBs live in the
 * profiles that read them, as numeric OIDs with the object's name beside them.
 */

const SYSTEM = '1.3.6.1.2.1.1';
const IF_ENTRY = '1.3.6.1.2.1.2.2.1';
const IFX_ENTRY = '1.3.6.1.2.1.31.1.1.1';
const DOT3_STATS = '1.3.6.1.2.1.10.7.2.1';
const HR_STORAGE = '1.3.6.1.2.1.25.2.3.1';
const HR_DEVICE = '1.3.6.1.2.1.25.3.2.1';
const HR_PROCESSOR = '1.3.6.1.2.1.25.3.3.1';
const UCD_MEMORY = '1.3.6.1.4.1.2021.4';
const UCD_LOAD = '1.3.6.1.4.1.2021.10.1';
const LM_TEMP = '1.3.6.1.4.1.2021.13.16.2.1';
const ENT_PHYSICAL = '1.3.6.1.2.1.47.1.1.1.1';
const ENT_SENSOR = '1.3.6.1.2.1.99.1.1.1';

export const MIB_OBJECTS = {
  // SNMPv2-MIB system group (scalars)
  sysDescr: `${SYSTEM}.1`,
  sysObjectID: `${SYSTEM}.2`,
  sysUpTime: `${SYSTEM}.3`,
  sysContact: `${SYSTEM}.4`,
  sysName: `${SYSTEM}.5`,
  sysLocation: `${SYSTEM}.6`,
  sysServices: `${SYSTEM}.7`,
  // IF-MIB (RFC 2863)
  ifNumber: '1.3.6.1.2.1.2.1',
  ifEntry: IF_ENTRY,
  ifIndex: `${IF_ENTRY}.1`,
  ifDescr: `${IF_ENTRY}.2`,
  ifType: `${IF_ENTRY}.3`,
  ifMtu: `${IF_ENTRY}.4`,
  ifSpeed: `${IF_ENTRY}.5`,
  ifPhysAddress: `${IF_ENTRY}.6`,
  ifAdminStatus: `${IF_ENTRY}.7`,
  ifOperStatus: `${IF_ENTRY}.8`,
  ifLastChange: `${IF_ENTRY}.9`,
  ifInOctets: `${IF_ENTRY}.10`,
  ifInUcastPkts: `${IF_ENTRY}.11`,
  ifInNUcastPkts: `${IF_ENTRY}.12`,
  ifInDiscards: `${IF_ENTRY}.13`,
  ifInErrors: `${IF_ENTRY}.14`,
  ifInUnknownProtos: `${IF_ENTRY}.15`,
  ifOutOctets: `${IF_ENTRY}.16`,
  ifOutUcastPkts: `${IF_ENTRY}.17`,
  ifOutNUcastPkts: `${IF_ENTRY}.18`,
  ifOutDiscards: `${IF_ENTRY}.19`,
  ifOutErrors: `${IF_ENTRY}.20`,
  ifXEntry: IFX_ENTRY,
  ifName: `${IFX_ENTRY}.1`,
  ifInMulticastPkts: `${IFX_ENTRY}.2`,
  ifInBroadcastPkts: `${IFX_ENTRY}.3`,
  ifOutMulticastPkts: `${IFX_ENTRY}.4`,
  ifOutBroadcastPkts: `${IFX_ENTRY}.5`,
  ifHCInOctets: `${IFX_ENTRY}.6`,
  ifHCInUcastPkts: `${IFX_ENTRY}.7`,
  ifHCInMulticastPkts: `${IFX_ENTRY}.8`,
  ifHCInBroadcastPkts: `${IFX_ENTRY}.9`,
  ifHCOutOctets: `${IFX_ENTRY}.10`,
  ifHCOutUcastPkts: `${IFX_ENTRY}.11`,
  ifHCOutMulticastPkts: `${IFX_ENTRY}.12`,
  ifHCOutBroadcastPkts: `${IFX_ENTRY}.13`,
  ifHighSpeed: `${IFX_ENTRY}.15`,
  ifAlias: `${IFX_ENTRY}.18`,
  // EtherLike-MIB (RFC 3635) dot3StatsTable
  dot3StatsAlignmentErrors: `${DOT3_STATS}.2`,
  dot3StatsFCSErrors: `${DOT3_STATS}.3`,
  dot3StatsFrameTooLongs: `${DOT3_STATS}.13`,
  // HOST-RESOURCES-MIB (RFC 2790)
  hrStorageIndex: `${HR_STORAGE}.1`,
  hrStorageType: `${HR_STORAGE}.2`,
  hrStorageDescr: `${HR_STORAGE}.3`,
  hrStorageAllocationUnits: `${HR_STORAGE}.4`,
  hrStorageSize: `${HR_STORAGE}.5`,
  hrStorageUsed: `${HR_STORAGE}.6`,
  hrStorageAllocationFailures: `${HR_STORAGE}.7`,
  hrStorageTypes: '1.3.6.1.2.1.25.2.1',
  hrDeviceDescr: `${HR_DEVICE}.3`,
  hrProcessorLoad: `${HR_PROCESSOR}.2`,
  // UCD-SNMP-MIB memory (scalars, kB) and laTable
  memTotalSwap: `${UCD_MEMORY}.3`,
  memAvailSwap: `${UCD_MEMORY}.4`,
  memTotalReal: `${UCD_MEMORY}.5`,
  memAvailReal: `${UCD_MEMORY}.6`,
  memBuffer: `${UCD_MEMORY}.14`,
  memCached: `${UCD_MEMORY}.15`,
  memTotalSwapX: `${UCD_MEMORY}.18`,
  memAvailSwapX: `${UCD_MEMORY}.19`,
  memTotalRealX: `${UCD_MEMORY}.20`,
  memAvailRealX: `${UCD_MEMORY}.21`,
  memBufferX: `${UCD_MEMORY}.25`,
  memCachedX: `${UCD_MEMORY}.26`,
  laLoad: `${UCD_LOAD}.3`,
  laLoadInt: `${UCD_LOAD}.5`,
  // LM-SENSORS-MIB lmTempSensorsTable (thousandths of a degree Celsius)
  lmTempSensorsIndex: `${LM_TEMP}.1`,
  lmTempSensorsDevice: `${LM_TEMP}.2`,
  lmTempSensorsValue: `${LM_TEMP}.3`,
  // ENTITY-MIB entPhysicalTable (RFC 6933)
  entPhysicalDescr: `${ENT_PHYSICAL}.2`,
  entPhysicalContainedIn: `${ENT_PHYSICAL}.4`,
  entPhysicalClass: `${ENT_PHYSICAL}.5`,
  entPhysicalParentRelPos: `${ENT_PHYSICAL}.6`,
  entPhysicalName: `${ENT_PHYSICAL}.7`,
  // ENTITY-SENSOR-MIB entPhySensorTable (RFC 3433)
  entPhySensorType: `${ENT_SENSOR}.1`,
  entPhySensorScale: `${ENT_SENSOR}.2`,
  entPhySensorPrecision: `${ENT_SENSOR}.3`,
  entPhySensorValue: `${ENT_SENSOR}.4`,
  entPhySensorOperStatus: `${ENT_SENSOR}.5`,
} as const;

export type MibObjectName = keyof typeof MIB_OBJECTS;

const NAMED = /^([A-Za-z][A-Za-z0-9]*)((?:\.\d+)*)$/;

/**
 * A MIB object name, optionally with instance arcs (`sysUpTime.0`, `ifDescr`), as its numeric
 * OID; undefined when the name is not one of MIB_OBJECTS.
 */
export function resolveMibName(text: string): string | undefined {
  const m = NAMED.exec(text);
  if (m === null) return undefined;
  const base = (MIB_OBJECTS as Readonly<Record<string, string>>)[m[1] ?? ''];
  return base === undefined ? undefined : `${base}${m[2] ?? ''}`;
}

/** A scalar's instance OID (`.0` appended). */
export function scalar(name: MibObjectName): string {
  return `${MIB_OBJECTS[name]}.0`;
}
