/** Limits of the simulator, in a module of their own so the command line reads them without loading it. */

/** Largest device number: the community has five digits. */
export const MAX_SYNTHETIC_DEVICES = 99_999;
/** Largest ifIndex: ifPhysAddress carries it in two bytes. */
export const MAX_SYNTHETIC_INTERFACES = 65_535;
/** The largest UDP payload over IPv4. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_507;
/** Every SNMP entity must accept messages of this size (RFC 3417). */
export const MIN_MAX_MESSAGE_SIZE = 484;
