/**
 * What the built-in interface plugins read from IF-MIB (RFC 2863) and SNMPv2-MIB themselves
 * (names, types, speeds, sysUpTime), and how. Interface polling reads its counters through the
 * if-mib profile (plugins/profiles/if-mib.yaml). The OIDs have their one home in the package's
 * MIB object names (MIB_OBJECTS); this is the plugins' view of them.
 */
import { MIB_OBJECTS, SnmpTag, scalar } from '../../src/index.js';
import type { Varbind } from '../../src/index.js';

export const IF_MIB = {
  sysUpTime: scalar('sysUpTime'),
  ifDescr: MIB_OBJECTS.ifDescr,
  ifType: MIB_OBJECTS.ifType,
  ifMtu: MIB_OBJECTS.ifMtu,
  ifSpeed: MIB_OBJECTS.ifSpeed,
  ifPhysAddress: MIB_OBJECTS.ifPhysAddress,
  ifAdminStatus: MIB_OBJECTS.ifAdminStatus,
  ifOperStatus: MIB_OBJECTS.ifOperStatus,
  ifInOctets: MIB_OBJECTS.ifInOctets,
  ifInUcastPkts: MIB_OBJECTS.ifInUcastPkts,
  ifInDiscards: MIB_OBJECTS.ifInDiscards,
  ifInErrors: MIB_OBJECTS.ifInErrors,
  ifOutOctets: MIB_OBJECTS.ifOutOctets,
  ifOutUcastPkts: MIB_OBJECTS.ifOutUcastPkts,
  ifOutDiscards: MIB_OBJECTS.ifOutDiscards,
  ifOutErrors: MIB_OBJECTS.ifOutErrors,
  ifName: MIB_OBJECTS.ifName,
  ifHCInOctets: MIB_OBJECTS.ifHCInOctets,
  ifHCInUcastPkts: MIB_OBJECTS.ifHCInUcastPkts,
  ifHCOutOctets: MIB_OBJECTS.ifHCOutOctets,
  ifHCOutUcastPkts: MIB_OBJECTS.ifHCOutUcastPkts,
  ifHighSpeed: MIB_OBJECTS.ifHighSpeed,
  ifAlias: MIB_OBJECTS.ifAlias,
} as const;

/** ifSpeed saturates here (4.29 Gbit/s); faster interfaces report their speed in ifHighSpeed. */
export const IF_SPEED_MAX = 4_294_967_295;

/** IANAifType names, from 1 (`other`) to 251 (`vdsl2`), as Panoptes names media types. */
const IF_TYPE_NAMES: readonly string[] = [
  'other',
  'regular1822',
  'hdh1822',
  'ddnX25',
  'rfc877x25',
  'ethernetCsmacd',
  'iso88023Csmacd',
  'iso88024TokenBus',
  'iso88025TokenRing',
  'iso88026Man',
  'starLan',
  'proteon10Mbit',
  'proteon80Mbit',
  'hyperchannel',
  'fddi',
  'lapb',
  'sdlc',
  'ds1',
  'e1',
  'basicISDN',
  'primaryISDN',
  'propPointToPointSerial',
  'ppp',
  'softwareLoopback',
  'eon',
  'ethernet3Mbit',
  'nsip',
  'slip',
  'ultra',
  'ds3',
  'sip',
  'frameRelay',
  'rs232',
  'para',
  'arcnet',
  'arcnetPlus',
  'atm',
  'miox25',
  'sonet',
  'x25ple',
  'iso88022llc',
  'localTalk',
  'smdsDxi',
  'frameRelayService',
  'v35',
  'hssi',
  'hippi',
  'modem',
  'aal5',
  'sonetPath',
  'sonetVT',
  'smdsIcip',
  'propVirtual',
  'propMultiplexor',
  'ieee80212',
  'fibreChannel',
  'hippiInterface',
  'frameRelayInterconnect',
  'aflane8023',
  'aflane8025',
  'cctEmul',
  'fastEther',
  'isdn',
  'v11',
  'v36',
  'g703at64k',
  'g703at2mb',
  'qllc',
  'fastEtherFX',
  'channel',
  'ieee80211',
  'ibm370parChan',
  'escon',
  'dlsw',
  'isdns',
  'isdnu',
  'lapd',
  'ipSwitch',
  'rsrb',
  'atmLogical',
  'ds0',
  'ds0Bundle',
  'bsc',
  'async',
  'cnr',
  'iso88025Dtr',
  'eplrs',
  'arap',
  'propCnls',
  'hostPad',
  'termPad',
  'frameRelayMPI',
  'x213',
  'adsl',
  'radsl',
  'sdsl',
  'vdsl',
  'iso88025CRFPInt',
  'myrinet',
  'voiceEM',
  'voiceFXO',
  'voiceFXS',
  'voiceEncap',
  'voiceOverIp',
  'atmDxi',
  'atmFuni',
  'atmIma',
  'pppMultilinkBundle',
  'ipOverCdlc',
  'ipOverClaw',
  'stackToStack',
  'virtualIpAddress',
  'mpc',
  'ipOverAtm',
  'iso88025Fiber',
  'tdlc',
  'gigabitEthernet',
  'hdlc',
  'lapf',
  'v37',
  'x25mlp',
  'x25huntGroup',
  'transpHdlc',
  'interleave',
  'fast',
  'ip',
  'docsCableMaclayer',
  'docsCableDownstream',
  'docsCableUpstream',
  'a12MppSwitch',
  'tunnel',
  'coffee',
  'ces',
  'atmSubInterface',
  'l2vlan',
  'l3ipvlan',
  'l3ipxvlan',
  'digitalPowerline',
  'mediaMailOverIp',
  'dtm',
  'dcn',
  'ipForward',
  'msdsl',
  'ieee1394',
  'if-gsn',
  'dvbRccMacLayer',
  'dvbRccDownstream',
  'dvbRccUpstream',
  'atmVirtual',
  'mplsTunnel',
  'srp',
  'voiceOverAtm',
  'voiceOverFrameRelay',
  'idsl',
  'compositeLink',
  'ss7SigLink',
  'propWirelessP2P',
  'frForward',
  'rfc1483',
  'usb',
  'ieee8023adLag',
  'bgppolicyaccounting',
  'frf16MfrBundle',
  'h323Gatekeeper',
  'h323Proxy',
  'mpls',
  'mfSigLink',
  'hdsl2',
  'shdsl',
  'ds1FDL',
  'pos',
  'dvbAsiIn',
  'dvbAsiOut',
  'plc',
  'nfas',
  'tr008',
  'gr303RDT',
  'gr303IDT',
  'isup',
  'propDocsWirelessMaclayer',
  'propDocsWirelessDownstream',
  'propDocsWirelessUpstream',
  'hiperlan2',
  'propBWAp2Mp',
  'sonetOverheadChannel',
  'digitalWrapperOverheadChannel',
  'aal2',
  'radioMAC',
  'atmRadio',
  'imt',
  'mvl',
  'reachDSL',
  'frDlciEndPt',
  'atmVciEndPt',
  'opticalChannel',
  'opticalTransport',
  'propAtm',
  'voiceOverCable',
  'infiniband',
  'teLink',
  'q2931',
  'virtualTg',
  'sipTg',
  'sipSig',
  'docsCableUpstreamChannel',
  'econet',
  'pon155',
  'pon622',
  'bridge',
  'linegroup',
  'voiceEMFGD',
  'voiceFGDEANA',
  'voiceDID',
  'mpegTransport',
  'sixToFour',
  'gtp',
  'pdnEtherLoop1',
  'pdnEtherLoop2',
  'opticalChannelGroup',
  'homepna',
  'gfp',
  'ciscoISLvlan',
  'actelisMetaLOOP',
  'fcipLink',
  'rpr',
  'qam',
  'lmp',
  'cblVectaStar',
  'docsCableMCmtsDownstream',
  'adsl2',
  'macSecControlledIF',
  'macSecUncontrolledIF',
  'aviciOpticalEther',
  'atmbond',
  'voiceFGDOS',
  'mocaVersion1',
  'ieee80216WMAN',
  'adsl2plus',
  'dvbRcsMacLayer',
  'dvbTdm',
  'dvbRcsTdma',
  'x86Laps',
  'wwanPP',
  'wwanPP2',
  'voiceEBS',
  'ifPwType',
  'ilan',
  'pip',
  'aluELP',
  'gpon',
  'vdsl2',
];

/** The IANAifType name of an ifType (`ifType<N>` for a value beyond the list). */
export function ifTypeName(type: number): string {
  return IF_TYPE_NAMES[type - 1] ?? `ifType${type}`;
}

/** The last arc of an OID under a column (the ifIndex), as text. */
export function indexOf(column: string, oid: string): string {
  return oid.slice(column.length + 1);
}

/** Column varbinds by ifIndex, exceptions left out. */
export function byIndex(column: string, varbinds: readonly Varbind[] | undefined): Map<string, Varbind> {
  const out = new Map<string, Varbind>();
  for (const vb of varbinds ?? []) {
    if (
      vb.type === SnmpTag.NoSuchObject ||
      vb.type === SnmpTag.NoSuchInstance ||
      vb.type === SnmpTag.EndOfMibView
    )
      continue;
    out.set(indexOf(column, vb.oid), vb);
  }
  return out;
}

const decoder = new TextDecoder('utf-8');

/** A DisplayString: UTF-8 (invalid bytes replaced), trailing NULs and surrounding blanks removed. */
export function text(vb: Varbind | undefined): string | undefined {
  if (vb === undefined) return undefined;
  if (typeof vb.value === 'string') return vb.value.trim();
  if (!(vb.value instanceof Uint8Array)) return undefined;
  let end = vb.value.length;
  while (end > 0 && vb.value[end - 1] === 0) end--;
  // Control characters would make poor dimension values.
  let out = '';
  for (const ch of decoder.decode(vb.value.subarray(0, end))) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? ' ' : ch;
  }
  return out.trim();
}

/** An integer value (Integer32, Gauge32, Counter32, TimeTicks); undefined for anything else. */
export function integer(vb: Varbind | undefined): number | undefined {
  return vb !== undefined && typeof vb.value === 'number' ? vb.value : undefined;
}

/** A counter value as bigint (Counter32 or Counter64); undefined for anything else. */
export function counter(vb: Varbind | undefined): bigint | undefined {
  if (vb === undefined) return undefined;
  if (vb.type === SnmpTag.Counter64 && typeof vb.value === 'bigint') return vb.value;
  if (vb.type === SnmpTag.Counter32 && typeof vb.value === 'number') return BigInt(vb.value);
  return undefined;
}

/**
 * Interface speed in bits/s as Panoptes computes it: ifHighSpeed (Mbit/s) x 10^6 when it is above
 * 1; else ifSpeed; where ifSpeed is 0, ifHighSpeed x 10^6 again (0 or 1 Mbit/s). Undefined when
 * the device gives neither.
 */
export function speedBits(ifSpeed: number | undefined, ifHighSpeed: number | undefined): number | undefined {
  if (ifHighSpeed !== undefined && ifHighSpeed > 1) return ifHighSpeed * 1_000_000;
  if (ifSpeed !== undefined && ifSpeed !== 0) return ifSpeed;
  return ifHighSpeed === undefined || ifSpeed === undefined ? undefined : ifHighSpeed * 1_000_000;
}

/** A MAC address (ifPhysAddress) as upper-case hex pairs joined by ':'; undefined when empty. */
export function macAddress(vb: Varbind | undefined): string | undefined {
  if (vb === undefined || !(vb.value instanceof Uint8Array) || vb.value.length === 0) return undefined;
  return Array.from(vb.value, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** Orders ifIndex strings numerically. */
export function compareIndex(a: string, b: string): number {
  return Number(a) - Number(b);
}
