/**
 * A scriptable SNMP agent made of one node:dgram socket on 127.0.0.1, for transport tests: every
 * request is decoded and recorded, and the test's handler decides what happens (answer now,
 * later, from another port, never). It also tracks how many requests are "open" (received, not
 * yet answered or dropped) so tests can check concurrency limits.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { decodeMessage, encodeMessage } from '../../src/snmp/pdu.js';
import type { OutVarbind, SnmpMessage } from '../../src/snmp/pdu.js';
import { PduType, SnmpTag } from '../../src/snmp/types.js';

export interface ReceivedRequest {
  readonly message: SnmpMessage;
  readonly raw: Buffer;
  readonly from: RemoteInfo;
  /** Milliseconds since the agent started. */
  readonly at: number;
  /** 1-based position among all requests this agent received. */
  readonly index: number;
}

export type RequestHandler = (request: ReceivedRequest, agent: FakeAgent) => void | Promise<void>;

export interface ReplyOptions {
  /** Send from this socket instead of the agent's own (a wrong source port). */
  readonly via?: Socket;
  /** Overrides the request-id answered. */
  readonly requestId?: number;
  readonly pduType?: number;
  readonly errorStatus?: number;
  readonly errorIndex?: number;
}

export class FakeAgent {
  readonly host = '127.0.0.1';
  readonly requests: ReceivedRequest[] = [];
  /** Requests received and not yet settled with reply() or drop(). */
  open = 0;
  maxOpen = 0;
  private readonly started = Date.now();
  private readonly extraSockets: Socket[] = [];

  private constructor(
    readonly socket: Socket,
    readonly port: number,
    private readonly shared: OpenCounter | undefined,
  ) {}

  static async start(handler: RequestHandler, shared?: OpenCounter): Promise<FakeAgent> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const agent = new FakeAgent(socket, socket.address().port, shared);
    socket.on('message', (raw, from) => {
      let message: SnmpMessage;
      try {
        message = decodeMessage(raw);
      } catch {
        return; // not for us to judge here
      }
      const request: ReceivedRequest = {
        message,
        raw,
        from,
        at: Date.now() - agent.started,
        index: agent.requests.length + 1,
      };
      agent.requests.push(request);
      agent.open++;
      agent.maxOpen = Math.max(agent.maxOpen, agent.open);
      shared?.add(1);
      void Promise.resolve(handler(request, agent)).catch(() => undefined);
    });
    return agent;
  }

  /** Answers `request` with a Response carrying `varbinds` (default: sysName.0 = "fake"). */
  async reply(
    request: ReceivedRequest,
    varbinds?: readonly OutVarbind[],
    options: ReplyOptions = {},
  ): Promise<void> {
    const wire = encodeMessage(
      {
        version: request.message.version,
        community: request.message.community,
        pduType: options.pduType ?? PduType.Response,
        requestId: options.requestId ?? request.message.requestId,
        errorStatus: options.errorStatus ?? 0,
        errorIndex: options.errorIndex ?? 0,
      },
      varbinds ?? [{ oid: '1.3.6.1.2.1.1.5.0', type: SnmpTag.OctetString, value: Buffer.from('fake') }],
    );
    this.settle();
    const socket = options.via ?? this.socket;
    await new Promise<void>((resolve, reject) =>
      socket.send(wire, request.from.port, request.from.address, (e) => (e ? reject(e) : resolve())),
    );
  }

  /** Marks a request as never to be answered (for the open-request count). */
  drop(): void {
    this.settle();
  }

  private settle(): void {
    if (this.open > 0) {
      this.open--;
      this.shared?.add(-1);
    }
  }

  /** Another socket on 127.0.0.1 (another port), closed with the agent. */
  async otherSocket(): Promise<Socket> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    this.extraSockets.push(s);
    return s;
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.socket, ...this.extraSockets].map((s) => new Promise<void>((r) => s.close(() => r()))),
    );
  }
}

/** Open requests summed over several agents (for a global in-flight limit). */
export class OpenCounter {
  open = 0;
  maxOpen = 0;

  add(n: number): void {
    this.open += n;
    this.maxOpen = Math.max(this.maxOpen, this.open);
  }
}
