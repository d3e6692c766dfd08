// Uplink to the server's /bridge namespace: challenge/hello auth, batched readings with acks, quarantine, status, dispatch.
import { io, type Socket } from 'socket.io-client';
import {
  validate,
  ErrorCode,
  type Ack,
  type Address,
  type BridgeStatus,
  type Dispatch,
  type Hex,
  type ReadingBatchResult,
  type SignedMeterReading,
  type WireError,
} from '@gridmesh/contracts-abi';
import type { Outbox } from './outbox.ts';
import type { ReadingSigner } from './signer.ts';

/** Refusals that no resend can fix: the reading is moved to quarantine so the outbox never gets stuck. */
const PERMANENT = new Set<string>([ErrorCode.BAD_SIGNATURE, ErrorCode.REPLAYED_SEQ, ErrorCode.COUNTER_DECREASED, ErrorCode.VALIDATION]);

export type LinkState = 'connecting' | 'authenticating' | 'online' | 'waiting' | 'stopped';

export interface LinkOptions {
  serverUrl: string;
  signer: ReadingSigner;
  outbox: Outbox;
  batchSize?: number;
  ackTimeoutMs?: number;
  statusIntervalMs?: number;
  /** Back-off for refusals the owner can fix (meter not registered yet) and for reconnects. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  agent?: string;
  status?: () => Omit<BridgeStatus, 'meter' | 'outboxDepth'>;
  onDispatch?: (dispatch: Dispatch) => void;
  log?: (msg: string) => void;
}

export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  // Exponential with full jitter in [½, 1] of the step, so a neighbourhood of bridges does not reconnect in lockstep.
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(step / 2 + (Math.random() * step) / 2);
}

export class BridgeLink {
  private socket: Socket | undefined;
  private authenticated = false;
  private pumping = false;
  private stopped = false;
  private attempt = 0;
  private sendAttempt = 0;
  /** After an unindexed permanent refusal: how many readings to send one by one to find the bad one. */
  private singleRemaining = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  state: LinkState = 'connecting';
  lastError: string | undefined;
  lastAckAt: number | undefined;
  sentReadings = 0;
  readonly meter: Address;
  private readonly o: Required<Omit<LinkOptions, 'status' | 'onDispatch' | 'agent'>> & Pick<LinkOptions, 'status' | 'onDispatch' | 'agent'>;

  constructor(opts: LinkOptions) {
    // Options left undefined (e.g. absent from the config file) must not override the defaults.
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as LinkOptions;
    this.o = {
      batchSize: 500,
      ackTimeoutMs: 10_000,
      statusIntervalMs: 10_000,
      retryBaseMs: 1_000,
      retryMaxMs: 60_000,
      log: () => {},
      ...given,
    };
    this.meter = opts.signer.meter;
  }

  start(): void {
    const url = this.o.serverUrl.replace(/\/+$/, '') + '/bridge';
    const socket = io(url, {
      auth: { meter: this.meter },
      forceNew: true,
      transports: ['websocket'],
      reconnectionDelay: this.o.retryBaseMs,
      reconnectionDelayMax: this.o.retryMaxMs,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.state = 'authenticating';
      this.o.log(`link: connected to ${url}`);
    });
    socket.on('challenge', (msg: { challenge?: unknown }) => void this.answerChallenge(msg));
    socket.on('dispatch', (msg: unknown, ack?: (a: Ack) => void) => this.handleDispatch(msg, ack));
    socket.on('disconnect', (reason) => {
      this.authenticated = false;
      // Never let socket.io flush stale batches on reconnect before the new hello: the pump resends from the outbox.
      socket.sendBuffer = [];
      if (this.stopped) return;
      this.state = 'connecting';
      this.o.log(`link: disconnected (${reason})`);
      // The client reconnects by itself after transport errors, not after the server closed the session.
      if (reason === 'io server disconnect') this.reconnectLater();
    });
    socket.on('connect_error', (err) => {
      this.lastError = err.message;
      this.state = 'connecting';
    });
    this.unsubscribe = this.o.outbox.onAppend((m) => {
      if (m === this.meter) void this.pump();
    });
    this.statusTimer = setInterval(() => void this.sendStatus(), this.o.statusIntervalMs);
    this.statusTimer.unref();
  }

  private reconnectLater(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = backoffMs(this.attempt++, this.o.retryBaseMs, this.o.retryMaxMs);
    this.state = 'waiting';
    this.socket?.disconnect();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.socket?.connect();
    }, wait);
  }

  private async answerChallenge(msg: { challenge?: unknown }): Promise<void> {
    const socket = this.socket;
    if (!socket || typeof msg?.challenge !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(msg.challenge)) {
      this.o.log('link: malformed challenge from server');
      return;
    }
    const challenge = msg.challenge as Hex;
    try {
      const signature = await this.o.signer.signChallenge(challenge);
      const ack = (await socket.timeout(this.o.ackTimeoutMs).emitWithAck('hello', {
        meter: this.meter,
        challenge,
        signature,
        agent: this.o.agent ?? 'gridmesh-bridge',
        outboxDepth: this.o.outbox.depth(this.meter),
      })) as Ack;
      if (!ack?.ok) {
        this.lastError = `hello refused: ${ack?.error?.code} ${ack?.error?.message ?? ''}`;
        this.o.log(`link: ${this.lastError}; retrying with back-off`);
        this.reconnectLater();
        return;
      }
      this.authenticated = true;
      this.attempt = 0;
      this.state = 'online';
      this.lastError = undefined;
      this.o.log('link: authenticated');
      void this.sendStatus();
      void this.pump();
    } catch (err) {
      this.lastError = `hello: ${(err as Error).message}`;
      this.reconnectLater();
    }
  }

  private handleDispatch(msg: unknown, ack?: (a: Ack) => void): void {
    const v = validate<Dispatch>('Dispatch', msg);
    if (!v.ok) {
      ack?.({ ok: false, error: v.error });
      return;
    }
    if (v.value.meter.toLowerCase() !== this.meter.toLowerCase()) {
      ack?.({ ok: false, error: { code: ErrorCode.FORBIDDEN, message: 'dispatch for another meter' } });
      return;
    }
    try {
      this.o.onDispatch?.(v.value);
      ack?.({ ok: true });
    } catch (err) {
      ack?.({ ok: false, error: { code: ErrorCode.INTERNAL, message: (err as Error).message } });
    }
  }

  /** Sends pending readings oldest first until the outbox is empty or the link goes down. One loop at a time. */
  async pump(): Promise<void> {
    if (this.pumping || !this.authenticated || this.stopped || this.sendTimer) return;
    this.pumping = true;
    try {
      while (this.authenticated && !this.stopped) {
        const batch = this.o.outbox.peek(this.meter, this.singleRemaining > 0 ? 1 : this.o.batchSize);
        if (!batch.length) break;
        const outcome = await this.sendBatch(batch);
        if (outcome === 'stop') break;
        if (outcome === 'retry-later') {
          const wait = backoffMs(this.sendAttempt++, this.o.retryBaseMs, this.o.retryMaxMs);
          await new Promise<void>((r) => {
            this.sendTimer = setTimeout(() => {
              this.sendTimer = undefined;
              r();
            }, wait);
          });
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async sendBatch(batch: SignedMeterReading[]): Promise<'progress' | 'retry-later' | 'resend' | 'stop'> {
    const socket = this.socket;
    if (!socket || !socket.connected) return 'stop';
    let ack: Ack<ReadingBatchResult>;
    try {
      ack = (await socket.timeout(this.o.ackTimeoutMs).emitWithAck('readings', { readings: batch })) as Ack<ReadingBatchResult>;
    } catch {
      // No ack in time: resend the same batch (the server is idempotent on meter+seq).
      this.lastError = 'ack timeout';
      return 'resend';
    }
    this.lastAckAt = Date.now();
    if (ack?.ok) {
      this.o.outbox.acknowledge(this.meter, batch[batch.length - 1].seq);
      this.sentReadings += batch.length;
      this.sendAttempt = 0;
      if (this.singleRemaining > 0) this.singleRemaining--;
      return 'progress';
    }
    const error: WireError = ack?.error ?? { code: ErrorCode.INTERNAL, message: 'malformed ack' };
    const index = this.errorIndex(error, batch.length);
    if (index !== undefined && index > 0) {
      // Readings before the offending one were committed by the server.
      this.o.outbox.acknowledge(this.meter, batch[index - 1].seq);
      this.sentReadings += index;
    }
    if (PERMANENT.has(error.code)) {
      if (index !== undefined) {
        this.o.outbox.quarantine(batch[index], error.code, error.message);
        this.singleRemaining = 0;
        return 'progress';
      }
      if (batch.length === 1) {
        this.o.outbox.quarantine(batch[0], error.code, error.message);
        this.singleRemaining = 0;
        return 'progress';
      }
      // The server did not say which one: send one at a time to find it.
      this.singleRemaining = batch.length;
      return 'progress';
    }
    this.lastError = `${error.code}: ${error.message}`;
    this.o.log(`link: readings refused (${this.lastError}); retrying with back-off`);
    if (error.code === ErrorCode.UNAUTHENTICATED) {
      this.authenticated = false;
      this.reconnectLater();
      return 'stop';
    }
    return 'retry-later';
  }

  /** The offending index: from the ack, else from a field pointer such as `/readings/3/seq`. */
  private errorIndex(error: WireError, n: number): number | undefined {
    if (typeof error.index === 'number' && error.index >= 0 && error.index < n) return error.index;
    for (const f of error.fields ?? []) {
      const m = /^\/readings\/(\d+)/.exec(f.field);
      if (m && Number(m[1]) < n) return Number(m[1]);
    }
    return undefined;
  }

  async sendStatus(): Promise<void> {
    if (!this.socket || !this.authenticated) return;
    const status: BridgeStatus = {
      meter: this.meter,
      outboxDepth: this.o.outbox.depth(this.meter),
      droppedReadings: this.o.outbox.dropped() + this.o.outbox.quarantineCount(this.meter),
      ...(this.o.status?.() ?? {}),
    };
    try {
      await this.socket.timeout(this.o.ackTimeoutMs).emitWithAck('status', status);
    } catch {
      /* status is best effort; the next one follows */
    }
  }

  get connected(): boolean {
    return this.authenticated;
  }

  stop(): void {
    this.stopped = true;
    this.state = 'stopped';
    this.unsubscribe?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.sendTimer) clearTimeout(this.sendTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.socket?.disconnect();
  }
}
