/**
 * Off-thread decoding with a Piscina pool: received messages are copied into one buffer per
 * batch, transferred (not cloned) to a worker, and decoded there.
 *
 * The worker is the compiled dist/src/snmp/decode-worker.js: worker threads cannot load
 * TypeScript, so when this module runs from source (tests, tsx) it points at the build output,
 * which `npm ci` (prepare) and `npm test` create.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { PanoptesError } from '../errors.js';
import type { DecodeResult, DecodeTask } from './decode-worker.js';
import type { SnmpMessage } from './pdu.js';
import type { MessageDecoder } from './transport.js';

export function decodeWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'decode-worker.js');
  const built = resolve(dirname(here), '..', '..', 'dist', 'src', 'snmp', 'decode-worker.js');
  if (!existsSync(built)) {
    throw new PanoptesError(
      'NOT_IMPLEMENTED',
      `decode worker not built: run 'npm run build' (missing ${built})`,
    );
  }
  return built;
}

export function createDecodePool(threads: number): MessageDecoder {
  // Loaded here, not at the top: only engines with decode workers need it (the CLI's walks do not).
  const { Piscina: Pool } = createRequire(import.meta.url)('piscina') as { Piscina: typeof Piscina };
  const pool = new Pool<DecodeTask, DecodeResult[]>({
    filename: decodeWorkerFile(),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
  });
  return {
    async decode(messages: readonly Uint8Array[]): Promise<(SnmpMessage | Error)[]> {
      let total = 0;
      for (const m of messages) total += m.length;
      const data = new ArrayBuffer(total);
      const view = new Uint8Array(data);
      const ends: number[] = [];
      let at = 0;
      for (const m of messages) {
        view.set(m, at);
        at += m.length;
        ends.push(at);
      }
      const results = await pool.run({ data, ends }, { transferList: [data] });
      return results.map((r) => ('error' in r ? new Error(r.error) : r));
    },
    close: () => pool.destroy(),
  };
}
