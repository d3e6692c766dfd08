// The /market Socket.IO namespace: public live view of the neighbourhood (homes' power now), coalesced broadcasts.
import type { Namespace, Socket } from 'socket.io';
import type { LivePower } from '@gridmesh/contracts-abi';
import { Coalescer } from './coalescer.ts';
import type { LiveState } from './live-state.ts';

export interface MarketBroadcaster {
  /** Queue a live power update; flushed to every client at most `1000 / intervalMs` times per second. */
  power(update: LivePower): void;
  stop(): void;
}

export function attachMarketNamespace(nsp: Namespace, live: LiveState, intervalMs = 200): MarketBroadcaster {
  let seq = 0;
  const power = new Coalescer<string, LivePower>(intervalMs, (homes) => {
    seq++;
    nsp.emit('power', { seq, homes });
  });
  nsp.on('connection', (socket: Socket) => {
    // Snapshot first, then deltas carrying `seq`, so a client can tell whether it missed one.
    socket.emit('snapshot', { seq, homes: live.all() });
  });
  return {
    power: (update) => power.push(update.meter, update),
    stop: () => power.stop(),
  };
}
