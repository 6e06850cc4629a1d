/**
 * Piscina worker: decodes a batch of SNMP messages. The batch arrives as one transferred
 * ArrayBuffer plus the end offset of each message; the answer is one entry per message, the
 * decoded message or `{ error }`.
 */
import { decodeMessage } from './pdu.js';
import type { SnmpMessage } from './pdu.js';

export interface DecodeTask {
  readonly data: ArrayBuffer;
  readonly ends: readonly number[];
}

export type DecodeResult = SnmpMessage | { readonly error: string };

export default function decodeBatch(task: DecodeTask): DecodeResult[] {
  const bytes = new Uint8Array(task.data);
  const out: DecodeResult[] = [];
  let start = 0;
  for (const end of task.ends) {
    try {
      out.push(decodeMessage(bytes.subarray(start, end)));
    } catch (e) {
      out.push({ error: e instanceof Error ? e.message : String(e) });
    }
    start = end;
  }
  return out;
}
