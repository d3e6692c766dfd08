// Live neighbourhood state from the /market namespace: snapshot first, then coalesced power deltas with sequence numbers.
import { io, type Socket } from 'socket.io-client';
import type { LivePower } from '@gridmesh/contracts-abi/types.ts';

export type LinkState = 'connecting' | 'live' | 'reconnecting';

export interface LiveView {
  link: LinkState;
  homes: Map<string, LivePower>;
  seq: number;
}

export function connectLive(onChange: (view: LiveView) => void): Socket {
  const view: LiveView = { link: 'connecting', homes: new Map(), seq: 0 };
  const socket = io('/market', { transports: ['websocket', 'polling'] });
  const emit = () => onChange({ ...view, homes: new Map(view.homes) });
  socket.on('connect', () => {
    view.link = 'live';
    emit();
  });
  socket.on('disconnect', () => {
    view.link = 'reconnecting';
    emit();
  });
  socket.on('snapshot', (snap: { seq: number; homes: LivePower[] }) => {
    view.homes = new Map(snap.homes.map((h) => [h.meter, h]));
    view.seq = snap.seq;
    emit();
  });
  socket.on('power', (delta: { seq: number; homes: LivePower[] }) => {
    for (const h of delta.homes) view.homes.set(h.meter, h);
    view.seq = delta.seq;
    emit();
  });
  return socket;
}
