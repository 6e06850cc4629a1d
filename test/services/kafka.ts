/**
 * A Kafka-protocol broker for tests: librdkafka's mock cluster, started through kcat.
 *
 * `kcat -C -b localhost:1 -t keepalive -X test.mock.num.brokers=3` starts an in-process mock
 * cluster of 3 brokers on loopback and prints its bootstrap servers on stderr
 * ("... replaced with 127.0.0.1:A,127.0.0.1:B,..."; with `-d mock` also "bootstrap.servers=...").
 * The consumer of topic `keepalive` keeps kcat running. Topics are auto-created with 4
 * partitions; CreateTopics is not supported.
 */
import { ManagedProcess, makeTempDir, requireBinary } from './managed-process.js';

export interface KafkaService {
  /** `127.0.0.1:port` of every broker. */
  readonly brokers: readonly string[];
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

const BOOTSTRAP =
  /(?:bootstrap\.servers=|replaced with )(\d+\.\d+\.\d+\.\d+:\d+(?:,\d+\.\d+\.\d+\.\d+:\d+)*)/;

export interface KafkaStartOptions {
  /**
   * Freezing the broker (SIGSTOP) also freezes kcat's own client of it: past its socket timeout
   * (librdkafka's default 60 s) that client fails on thawing and kcat exits, taking the cluster
   * with it. A test that freezes it longer raises the timeout to this many ms.
   */
  readonly socketTimeoutMs?: number;
}

export async function startKafka(brokerCount = 3, options: KafkaStartOptions = {}): Promise<KafkaService> {
  const command = requireBinary('kcat', 'kcat');
  const workDir = await makeTempDir('kafka');
  const proc = ManagedProcess.start({
    name: 'kcat-mock-cluster',
    command,
    args: [
      '-C',
      '-q',
      '-b',
      'localhost:1',
      '-t',
      'keepalive',
      '-X',
      `test.mock.num.brokers=${brokerCount}`,
      ...(options.socketTimeoutMs === undefined
        ? []
        : ['-X', `socket.timeout.ms=${options.socketTimeoutMs}`]),
    ],
    workDir,
  });
  try {
    const brokers = await proc.waitUntil('it prints its bootstrap servers', () => {
      const m = BOOTSTRAP.exec(proc.log());
      return m?.[1]?.split(',');
    });
    return { brokers, process: proc, stop: () => proc.stop() };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}
