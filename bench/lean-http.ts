// A lean HTTP/1.1 keep-alive client for load generation: a pool of raw TCP connections, one request in flight on each.
//
// Why: on the benches' shared 2 cores, node:http's client costs ≈ 0.07 ms of CPU per request (agent bookkeeping,
// header objects, the parser's callbacks) — CPU taken from the server under test. This writes the request bytes
// as they would come from any client and reads back status, Content-Length and body; nothing else.
import { connect, type Socket } from 'node:net';

export interface LeanResponse { status: number; body: string }

interface Waiter { request: Buffer; resolve: (r: LeanResponse) => void; reject: (err: Error) => void }

class Connection {
  private socket: Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private current: Waiter | null = null;

  constructor(private readonly host: string, private readonly port: number, private readonly onIdle: (c: Connection) => void) {}

  get busy(): boolean { return this.current !== null; }

  send(w: Waiter): void {
    this.current = w;
    if (!this.socket || this.socket.destroyed) this.open();
    this.socket!.write(w.request);
  }

  private open(): void {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const lost = (err?: Error) => {
      if (this.socket === socket) this.socket = null;
      const w = this.current;
      this.current = null;
      // A keep-alive connection the server closed while idle is simply reopened by the next request.
      if (w) { w.reject(err ?? new Error('connection closed before the response')); this.onIdle(this); }
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.socket = socket;
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buffer.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) {
      this.fail(new Error(`response without Content-Length (status ${status}): only length-delimited bodies are read`));
      return;
    }
    const length = Number(m[1]);
    const end = headEnd + 4 + length;
    if (this.buffer.length < end) return;
    const body = this.buffer.toString('utf8', headEnd + 4, end);
    this.buffer = this.buffer.subarray(end);
    const w = this.current!;
    this.current = null;
    w.resolve({ status, body });
    this.onIdle(this);
  }

  private fail(err: Error): void {
    const w = this.current;
    this.current = null;
    this.socket?.destroy();
    this.socket = null;
    if (w) { w.reject(err); this.onIdle(this); }
  }

  /** Opens the TCP connection ahead of timing. */
  warm(): Promise<void> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve();
    this.open();
    const socket = this.socket!;
    return new Promise((ok, fail) => { socket.once('connect', () => ok()); socket.once('error', fail); });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

/** `connections` keep-alive connections; requests beyond them wait in FIFO order for the next free one. */
export class LeanHttpPool {
  private readonly idle: Connection[] = [];
  private readonly all: Connection[] = [];
  private readonly queue: Waiter[] = [];
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, connections: number) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    for (let i = 0; i < connections; i++) {
      const c = new Connection(this.host, this.port, (free) => this.release(free));
      this.all.push(c);
      this.idle.push(c);
    }
  }

  /** The bytes of a POST with a JSON body and a bearer token, built once so that sending costs one write. */
  postJson(path: string, body: string, token: string): Buffer {
    const payload = Buffer.from(body);
    return Buffer.concat([Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: application/json\r\n` +
      `Authorization: Bearer ${token}\r\nContent-Length: ${payload.length}\r\n\r\n`, 'latin1'), payload]);
  }

  get(path: string): Buffer {
    return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n\r\n`, 'latin1');
  }

  request(bytes: Buffer): Promise<LeanResponse> {
    return new Promise<LeanResponse>((resolve, reject) => {
      const w: Waiter = { request: bytes, resolve, reject };
      const c = this.idle.pop();
      if (c) c.send(w);
      else this.queue.push(w);
    });
  }

  private release(c: Connection): void {
    const next = this.queue.shift();
    if (next) c.send(next);
    else this.idle.push(c);
  }

  /** Opens every connection before timing (a first request would otherwise pay for its TCP handshake). */
  async warm(): Promise<void> {
    await Promise.all(this.all.map((c) => c.warm()));
  }

  close(): void {
    for (const c of this.all) c.close();
  }
}
