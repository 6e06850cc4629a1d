/**
 * Two costs of kafkajs 2.2.x's produce encoding, measured in the pipeline benchmark's CPU
 * profile (about a tenth of the poller's CPU between them, before the garbage they made):
 *
 * - Its Encoder grows its buffer with Buffer.alloc, which fills the new memory with zeros before
 *   the old bytes are copied over it, for every record (a record encoder starts at 512 bytes and
 *   grows to the next power of two above the record) and for every batch. Every write of the
 *   Encoder writes each byte it moves the offset over, and only bytes below the offset are ever
 *   read (`buffer` is a slice up to it), so the zeros are never seen: the patched
 *   `ensureAvailable` grows with Buffer.allocUnsafe instead, and otherwise does what it did.
 * - Each record batch carries a CRC-32C of its body, computed by a table-driven loop in
 *   JavaScript (about 2 ns a byte here). The CRC is the same from @node-rs/crc32's native
 *   crc32c (hardware instructions where the CPU has them), about 15 times faster; kafkajs binds
 *   its CRC function when its record batch module loads, so the native one is put in the module
 *   cache under the name of kafkajs's CRC module before kafkajs is loaded. This module does that
 *   when it is evaluated: kafka-bus.ts imports it before kafkajs. When kafkajs was loaded earlier
 *   (another module imported it first) or the native package is missing for this platform, the
 *   JavaScript CRC stays and `kafkajsEncodeFix().nativeCrc` says so.
 *
 * Applied to kafkajs 2.2.x only, like the idle fix.
 */
import { createRequire } from 'node:module';
import Module from 'node:module';
import { KAFKAJS_IDLE_LOOP_VERSIONS } from './kafkajs-idle-fix.js';

interface EncoderLike {
  buf: Buffer;
  offset: number;
  ensureAvailable(this: EncoderLike, length: number): void;
}

interface EncoderClass {
  prototype: EncoderLike;
  nextPowerOfTwo(value: number): number;
}

/** The CRC-32C of kafkajs's record batches: unsigned 32-bit, like kafkajs's own. */
type Crc32C = ((buffer: Buffer) => number) & { [NATIVE]?: true };

const NATIVE = Symbol.for('panoptes.kafkajs.nativeCrc32C');
const PATCHED = Symbol.for('panoptes.kafkajs.encoderFix');

export interface KafkajsEncodeFix {
  /** Encoder buffers grow without zero-filling. */
  readonly allocUnsafe: boolean;
  /** Record batch CRCs come from the native crc32c. */
  readonly nativeCrc: boolean;
}

/**
 * Puts the native CRC in the module cache under the name of kafkajs's CRC module, unless that
 * module is loaded already; returns whether kafkajs will use the native CRC.
 */
function nativeCrc(require: NodeJS.Require): boolean {
  const file = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
  const cached = require.cache[file];
  if (cached !== undefined) return (cached.exports as Crc32C)[NATIVE] === true;
  let crc32c: (input: Buffer, initial?: number) => number;
  try {
    ({ crc32c } = require('@node-rs/crc32') as { crc32c: typeof crc32c });
  } catch {
    return false; // no native build for this platform: kafkajs's own CRC stays
  }
  const native: Crc32C = (buffer) => crc32c(buffer) >>> 0;
  native[NATIVE] = true;
  const m = new Module(file);
  m.filename = file;
  m.loaded = true;
  m.exports = native;
  require.cache[file] = m;
  return true;
}

function patchEncoderGrowth(require: NodeJS.Require): void {
  const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  const proto = Encoder.prototype as EncoderLike & { [PATCHED]?: true };
  if (proto[PATCHED] === true) return;
  proto.ensureAvailable = function ensureAvailable(this: EncoderLike, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  proto[PATCHED] = true;
}

function apply(): KafkajsEncodeFix {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (!KAFKAJS_IDLE_LOOP_VERSIONS.test(version)) return { allocUnsafe: false, nativeCrc: false };
  // The CRC first: loading the encoder loads nothing that binds the CRC, but keep the order safe.
  const crc = nativeCrc(require);
  patchEncoderGrowth(require);
  return { allocUnsafe: true, nativeCrc: crc };
}

const state = apply();

/** Whether the fix is in place (it applies itself when this module is first evaluated). */
export function kafkajsEncodeFix(): KafkajsEncodeFix {
  return state;
}
