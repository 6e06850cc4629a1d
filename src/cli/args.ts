/**
 * The command line's option types and argument parsers: what both the registrations (src/cli/register,
 * loaded for every command) and the implementations (src/cli/commands, loaded for the command
 * that runs) need. Light on purpose: commander and type imports only.
 */
import { InvalidArgumentError } from 'commander';
import type { Role } from '../node/roles.js';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  MAX_SYNTHETIC_DEVICES,
  MAX_SYNTHETIC_INTERFACES,
  MIN_MAX_MESSAGE_SIZE,
} from '../sim/limits.js';
import type { SyntheticFleet } from '../sim/simulator.js';
import type { V3Level } from '../snmp/session.js';

// --- validate

export const VALIDATE_KINDS = ['resources', 'metrics', 'profiles', 'plugins'] as const;
export type ValidateKind = (typeof VALIDATE_KINDS)[number];

export interface ValidateOptions {
  readonly print?: boolean;
}

// --- snmp

export interface SnmpCliOptions {
  readonly community: string;
  readonly snmpVersion: '1' | '2c' | '3';
  readonly maxRepetitions: number;
  readonly timeout: number;
  readonly retries: number;
  readonly decodeWorkers: number;
  readonly securityName?: string;
  readonly securityLevel?: V3Level;
  readonly authProtocol?: 'md5' | 'sha';
  readonly authKey?: string;
  readonly privProtocol?: 'des' | 'aes';
  readonly privKey?: string;
  readonly context?: string;
}

/** A parser for an integer option from `min` to `max`. */
export function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

// --- simulate

export interface SimulateCliOptions {
  readonly host: string;
  readonly port: number;
  readonly data?: string;
  readonly synthetic?: SyntheticFleet;
  readonly maxMessageSize?: number;
  /** Every device on its own port, under one community (`community`, default "public"). */
  readonly portPerDevice?: boolean;
  readonly community?: string;
  /** Also serve the synthetic devices over gNMI on this TCP port (0 picks one). */
  readonly gnmiPort?: number;
}

function integerArgument(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}.`);
  }
  return Number(text);
}

export function parsePortOption(text: string): number {
  return integerArgument(text, 'The port', 0, 65_535);
}

export function parseMaxMessageSizeOption(text: string): number {
  return integerArgument(text, 'The size', MIN_MAX_MESSAGE_SIZE, DEFAULT_MAX_MESSAGE_SIZE);
}

/** `N:M` -> N devices with M interfaces each. */
export function parseSyntheticOption(text: string): SyntheticFleet {
  const m = /^(\d+):(\d+)$/.exec(text);
  if (m === null) {
    throw new InvalidArgumentError('Expected DEVICES:INTERFACES, for example 100:24.');
  }
  return {
    devices: integerArgument(m[1] ?? '', 'DEVICES', 1, MAX_SYNTHETIC_DEVICES),
    interfaces: integerArgument(m[2] ?? '', 'INTERFACES', 0, MAX_SYNTHETIC_INTERFACES),
  };
}

// --- run and the stages

export interface RunCliOptions {
  readonly config: string;
  readonly for?: number;
  readonly out?: string;
  /** Serve /metrics and /healthz on this port (0 picks one; logged). */
  readonly metricsPort?: number;
  /** The stages to run; default all. */
  readonly roles?: readonly Role[];
  /** Serve the simulator's devices over gNMI too (simulator.gnmi.enabled). */
  readonly gnmi?: boolean;
}

export function parseDurationOption(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > 31_536_000) {
    throw new InvalidArgumentError('SECONDS must be a positive number of seconds.');
  }
  return n;
}

// --- poll

export interface PollCliOptions {
  readonly config: string;
  readonly resources: string;
  readonly runs?: number;
  readonly every?: number;
  /** Write every enrichment group the enrichment plugins made to this file (JSON lines). */
  readonly enrichmentOut?: string;
}

export function positiveInteger(text: string, what: string, max: number): number {
  return integerArgument(text, what, 1, max);
}
