// A lean Socket.IO v5 client for load generation: one WebSocket per participant, pre-encoded event packets, acks matched by id.
//
// Why: the benches run the load generator on the same 2 cores as the server. socket.io-client cost ≈ 0.08 ms of CPU
// per acknowledged order (0.4 cores at 5,000 orders/s, a fifth of the machine) — CPU taken from the server under test.
// This client speaks the same wire protocol (Engine.IO v4 over WebSocket, Socket.IO v5 packets: CONNECT with auth,
// EVENT with an ack id, ACK) with none of the client library's per-packet machinery; the server cannot tell the two apart.
import WebSocket from 'ws';

/** Engine.IO packet types (first character of a text frame) and Socket.IO packet types (second character of a message). */
const EIO_OPEN = '0';
const EIO_PING = '2';
const EIO_MESSAGE = '4';
const SIO_CONNECT = '0';
const SIO_EVENT = '2';
const SIO_ACK = '3';
const SIO_CONNECT_ERROR = '4';

export interface LeanSocketOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Namespace, e.g. `/market`. */
  namespace: string;
  /** The CONNECT packet's auth object (e.g. `{ token }`). */
  auth: Record<string, unknown>;
  /** Event whose arrival means "connected and ready" (the server's greeting); its first argument is passed to `ready`. */
  readyEvent: string;
  /** Decides from the greeting whether the connection is usable; return an error message to refuse it. */
  ready?: (greeting: unknown) => string | null;
}

/** One Socket.IO connection to one namespace, for `emit`-with-ack traffic whose arguments are already JSON. */
export class LeanSocketIo {
  private nextAckId = 0;
  private readonly pending = new Map<number, (ackJson: string) => void>();
  /** `4` + `2` + `/market,` — every EVENT this client sends starts with it. */
  private readonly eventPrefix: string;
  /** `4` + `3` + `/market,` — every ACK for this namespace starts with it. */
  private readonly ackPrefix: string;

  private constructor(private readonly ws: WebSocket, namespace: string) {
    const nsp = namespace === '/' ? '' : `${namespace},`;
    this.eventPrefix = EIO_MESSAGE + SIO_EVENT + nsp;
    this.ackPrefix = EIO_MESSAGE + SIO_ACK + nsp;
  }

  static connect(options: LeanSocketOptions): Promise<LeanSocketIo> {
    const base = new URL(options.url);
    const ws = new WebSocket(`ws://${base.host}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    const socket = new LeanSocketIo(ws, options.namespace);
    const nsp = options.namespace === '/' ? '' : `${options.namespace},`;
    const greetingPrefix = `${EIO_MESSAGE}${SIO_EVENT}${nsp}["${options.readyEvent}",`;
    return new Promise<LeanSocketIo>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        ws.terminate();
        reject(err);
      };
      ws.on('error', fail);
      ws.on('close', () => {
        fail(new Error('connection closed before the namespace was joined'));
        for (const done of socket.pending.values()) done('[{"ok":false,"error":{"code":"CLOSED","message":"connection closed"}}]');
        socket.pending.clear();
      });
      ws.on('message', (raw: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) return;
        const frame = raw.toString();
        const kind = frame[0];
        if (kind === EIO_PING) { ws.send('3'); return; }
        if (kind === EIO_OPEN) { ws.send(`${EIO_MESSAGE}${SIO_CONNECT}${nsp}${JSON.stringify(options.auth)}`); return; }
        if (kind !== EIO_MESSAGE) return;
        if (frame.startsWith(socket.ackPrefix)) { socket.onAck(frame); return; }
        if (settled) return;
        if (frame[1] === SIO_CONNECT_ERROR) { fail(new Error(`namespace refused the connection: ${frame.slice(2)}`)); return; }
        if (frame.startsWith(greetingPrefix)) {
          const args = JSON.parse('[' + frame.slice(greetingPrefix.length)) as unknown[];
          const refusal = options.ready ? options.ready(args[0]) : null;
          if (refusal) { fail(new Error(refusal)); return; }
          settled = true;
          resolve(socket);
        }
      });
    });
  }

  /** Sends `[event, ...args]` where `argsJson` is the JSON of the arguments after the event name; resolves with the ACK's JSON array. */
  emitWithAck(event: string, argsJson: string): Promise<string> {
    const id = this.nextAckId++;
    return new Promise<string>((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(`${this.eventPrefix}${id}["${event}",${argsJson}]`);
    });
  }

  private onAck(frame: string): void {
    let i = this.ackPrefix.length;
    let id = 0;
    for (; i < frame.length; i++) {
      const c = frame.charCodeAt(i);
      if (c < 48 || c > 57) break;
      id = id * 10 + (c - 48);
    }
    const done = this.pending.get(id);
    if (!done) return;
    this.pending.delete(id);
    done(frame.slice(i));
  }

  close(): void {
    this.ws.close();
  }
}
