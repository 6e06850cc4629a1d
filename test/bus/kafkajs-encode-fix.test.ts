/**
 * The kafkajs encode fix: record batch CRCs from the native crc32c, equal to kafkajs's own
 * JavaScript CRC on every input; encoder buffers grown without zero-filling, holding exactly the
 * bytes written. (The integration test has librdkafka check the CRCs of batches the bus produced.)
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../../src/bus/kafka-bus.js';
import { kafkajsEncodeFix } from '../../src/bus/kafkajs-encode-fix.js';

const require = createRequire(import.meta.url);

interface Encoder {
  writeInt32(value: number): Encoder;
  writeBytes(value: Buffer | string): Encoder;
  writeVarIntString(value: string): Encoder;
  readonly buffer: Buffer;
}

type EncoderClass = new (initialSize?: number) => Encoder;

describe('kafkajs encode fix', () => {
  it('is in place when the Kafka bus is loaded: native CRC and encoder growth', () => {
    expect(kafkajsEncodeFix()).toEqual({ allocUnsafe: true, nativeCrc: true });
  });

  it('the CRC kafkajs uses is its own CRC-32C, unsigned, on every input', () => {
    const used = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
    // kafkajs's table-driven CRC, from the inner module the fix leaves alone.
    const own = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;
    const reference = (b: Buffer): number => own(b) >>> 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(used(b)).toBe(reference(b));
      }),
      { numRuns: 300 },
    );
    const large = randomBytes(3_000_000);
    expect(used(large)).toBe(reference(large));
    // The standard check value of CRC-32C.
    expect(used(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('an encoder holds exactly the bytes written however often it grew', () => {
    const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
            fc.uint8Array({ maxLength: 3000 }),
            fc.string({ maxLength: 700 }),
          ),
          { maxLength: 40 },
        ),
        (writes) => {
          const e = new Encoder(8);
          const expected: Buffer[] = [];
          for (const w of writes) {
            if (typeof w === 'number') {
              e.writeInt32(w);
              const b = Buffer.alloc(4);
              b.writeInt32BE(w);
              expected.push(b);
            } else if (typeof w === 'string') {
              e.writeBytes(w);
              const text = Buffer.from(w, 'utf8');
              const len = Buffer.alloc(4);
              len.writeInt32BE(text.length);
              expected.push(len, text);
            } else {
              e.writeBytes(Buffer.from(w));
              const len = Buffer.alloc(4);
              len.writeInt32BE(w.length);
              expected.push(len, Buffer.from(w));
            }
          }
          expect(e.buffer.equals(Buffer.concat(expected))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
