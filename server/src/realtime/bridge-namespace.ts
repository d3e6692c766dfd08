// The /bridge Socket.IO namespace: devices prove their meter key with a signed challenge, then stream signed reading batches.
import { randomBytes } from 'node:crypto';
import type { Namespace, Socket } from 'socket.io';
import { verifyTypedData } from 'ethers';
import {
  BridgeChallengeTypes, ErrorCode, gridmeshDomain, validate,
  type Ack, type Address, type BridgeHello, type BridgeStatus, type ReadingBatchResult, type WireError,
} from '@gridmesh/contracts-abi';
import type { ReadingIngest } from '../ingest/ingest.ts';
import type { StoredReading } from '../store/index.ts';
import type { LiveState } from './live-state.ts';

type AckFn<T = Record<string, never>> = (ack: Ack<T>) => void;

export interface BridgeNamespaceDeps {
  chainId: number;
  ingest: ReadingIngest;
  live: LiveState;
  isRegistered: (meter: string) => boolean;
  onCommitted: (readings: StoredReading[]) => void;
  /** Seconds one batch took from arrival to commit (verify + checks + commit), for the metrics. */
  onBatchTimed?: (seconds: number) => void;
  now?: () => number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

const safeAck = <T>(ack: unknown): AckFn<T> => (typeof ack === 'function' ? (ack as AckFn<T>) : () => undefined);
const fail = (code: WireError['code'], message: string): { ok: false; error: WireError } => ({ ok: false, error: { code, message } });

export function attachBridgeNamespace(nsp: Namespace, deps: BridgeNamespaceDeps): void {
  const now = deps.now ?? Date.now;
  nsp.on('connection', (socket: Socket) => {
    const challenge = '0x' + randomBytes(32).toString('hex');
    let meter: Address | null = null;
    socket.emit('challenge', { challenge });

    socket.on('hello', (hello: unknown, ackArg: unknown) => {
      const ack = safeAck(ackArg);
      const checked = validate<BridgeHello>('BridgeHello', hello);
      if (!checked.ok) return ack({ ok: false, error: checked.error });
      const h = checked.value;
      if (h.challenge.toLowerCase() !== challenge) return ack(fail(ErrorCode.UNAUTHENTICATED, 'challenge does not match the one issued to this connection'));
      let signer = '';
      try {
        signer = verifyTypedData(gridmeshDomain(deps.chainId), BridgeChallengeTypes, { meter: h.meter, challenge: h.challenge }, h.signature).toLowerCase();
      } catch {
        signer = '';
      }
      if (signer !== h.meter.toLowerCase()) return ack(fail(ErrorCode.BAD_SIGNATURE, 'challenge signature does not recover to the meter'));
      if (!deps.isRegistered(h.meter)) return ack(fail(ErrorCode.UNKNOWN_METER, `meter ${h.meter} is not registered`));
      meter = h.meter.toLowerCase() as Address;
      void socket.join(`meter:${meter}`);
      deps.live.setLink(meter, { online: true, outboxDepth: h.outboxDepth ?? null }, now());
      deps.log?.('bridge authenticated', { meter, agent: h.agent });
      ack({ ok: true });
    });

    socket.on('readings', async (batch: unknown, ackArg: unknown) => {
      const ack = safeAck<ReadingBatchResult>(ackArg);
      if (!meter) return ack(fail(ErrorCode.UNAUTHENTICATED, 'answer the challenge with `hello` before sending readings'));
      try {
        const started = performance.now();
        const result = await deps.ingest.ingest(batch, meter);
        deps.onBatchTimed?.((performance.now() - started) / 1000);
        if (result.committed.length) deps.onCommitted(result.committed);
        const summary = { accepted: result.accepted, duplicates: result.duplicates, lastSeq: result.lastSeq };
        ack(result.error ? { ok: false, error: result.error, result: summary } : { ok: true, result: summary });
      } catch (err) {
        deps.log?.('ingest failed', { meter, err: String(err) });
        ack(fail(ErrorCode.INTERNAL, 'the batch could not be committed; resend it'));
      }
    });

    socket.on('status', (status: unknown, ackArg: unknown) => {
      const ack = safeAck(ackArg);
      if (!meter) return ack(fail(ErrorCode.UNAUTHENTICATED, 'answer the challenge with `hello` first'));
      const checked = validate<BridgeStatus>('BridgeStatus', status);
      if (!checked.ok) return ack({ ok: false, error: checked.error });
      const s = checked.value;
      deps.live.setLink(meter, {
        outboxDepth: s.outboxDepth ?? null, droppedReadings: s.droppedReadings ?? null, sourceState: s.sourceState ?? null, message: s.message ?? null,
      }, now());
      ack({ ok: true });
    });

    socket.on('disconnect', () => {
      if (meter) deps.live.setLink(meter, { online: false }, now());
    });
  });
}
