// Live state over the /market namespace: per-room snapshots then deltas with seq; a seq gap or a reconnect re-snapshots the room.
import { io, type Socket } from 'socket.io-client';
import type { Ack } from '@gridmesh/contracts-abi/errors.ts';
import type { BookView, Flows, LivePower, MarketInfo, MarketSnapshot, OrderInfo, ParticipantSettlement, SlotInfo, Trade } from './lib/wire.ts';

export type LinkState = 'connecting' | 'live' | 'reconnecting';

export interface MarketState {
  info: MarketInfo;
  slots: Map<number, SlotInfo>;
  books: Map<number, BookView>;
  /** Trades by id (current and open slots, then whatever arrives live). */
  trades: Map<string, Trade>;
  flows: Flows | null;
}

export interface LiveView {
  link: LinkState;
  homes: Map<string, LivePower>;
  /** seq of the `live` room. */
  seq: number;
  /** How many times the link came back after a loss (shown next to the indicator). */
  reconnects: number;
  /** Room snapshots re-requested because a message's seq did not follow the last one. */
  gapResyncs: number;
  /** Bumped on every snapshot, so views that keep REST-fetched history re-fetch after a reconnect. */
  epoch: number;
  /** The signed-in participant as the socket's handshake saw it. */
  address: string | null;
  market: MarketState | null;
  /** The participant's own orders (participant room). */
  orders: Map<string, OrderInfo>;
  /** Own settlements pushed since load (participant room); views merge them into their REST history. */
  settlements: ParticipantSettlement[];
  /** Bumped when the participant's trades/settlements changed, to trigger REST re-fetches. */
  privateEpoch: number;
}

type Listener = (view: LiveView) => void;

interface RoomMessage {
  room?: string;
  seq: number;
}

const MAX_TRADES = 3000;

/** One socket per page, shared by every view. */
export class LiveLink {
  readonly socket: Socket;
  private view: LiveView = {
    link: 'connecting', homes: new Map(), seq: 0, reconnects: 0, gapResyncs: 0, epoch: 0, address: null, market: null, orders: new Map(), settlements: [], privateEpoch: 0,
  };
  private readonly listeners = new Set<Listener>();
  private readonly seqs = new Map<string, number>();
  private readonly resyncing = new Set<string>();
  private marketId: string | null = null;
  private everConnected = false;
  private notifyQueued = false;

  constructor(url = '/market') {
    this.socket = io(url, { transports: ['websocket', 'polling'], reconnectionDelayMax: 2000 });
    this.socket.on('connect', () => {
      if (this.everConnected) this.view.reconnects++;
      this.everConnected = true;
      this.view.link = 'live';
      this.seqs.clear();
      this.resyncing.clear();
      if (this.marketId) void this.subscribeMarket(this.marketId);
      this.notify();
    });
    this.socket.on('disconnect', () => {
      this.view.link = 'reconnecting';
      this.notify();
    });
    this.socket.io.on('reconnect_attempt', () => {
      this.view.link = 'reconnecting';
      this.notify();
    });
    this.socket.on('hello', (hello: { address: string | null }) => {
      this.view.address = hello.address;
      if (!hello.address) this.view.orders = new Map();
      this.notify();
    });
    this.socket.on('snapshot', (snap: RoomMessage & Record<string, unknown>) => this.applySnapshot(snap));
    this.socket.on('power', (m: RoomMessage & { homes: LivePower[] }) => {
      if (!this.accept(m, 'live')) return;
      for (const h of m.homes) this.view.homes.set(h.meter, h);
      this.view.seq = m.seq;
    });
    this.socket.on('book', (m: RoomMessage & { books: BookView[] }) => {
      if (!this.accept(m) || !this.view.market) return;
      for (const b of m.books) this.view.market.books.set(b.slot, b);
    });
    this.socket.on('trade', (m: RoomMessage & { trades: Trade[] }) => {
      if (!this.accept(m) || !this.view.market) return;
      this.addTrades(m.trades);
    });
    this.socket.on('slot', (m: RoomMessage & { slots: SlotInfo[] }) => {
      if (!this.accept(m) || !this.view.market) return;
      for (const s of m.slots) this.view.market.slots.set(s.slot, s);
    });
    this.socket.on('flows', (m: RoomMessage & { flows: Flows }) => {
      if (!this.accept(m) || !this.view.market) return;
      this.view.market.flows = m.flows;
    });
    this.socket.on('order', (m: RoomMessage & { orders: OrderInfo[] }) => {
      if (!this.accept(m)) return;
      for (const o of m.orders) this.view.orders.set(o.id, o);
      this.view.privateEpoch++;
    });
    this.socket.on('settlement', (m: RoomMessage & { settlements: ParticipantSettlement[] }) => {
      if (!this.accept(m)) return;
      this.view.settlements = [...this.view.settlements, ...m.settlements].slice(-500);
      this.view.privateEpoch++;
    });
  }

  /** Checks a room message's seq; on a gap asks for that room's snapshot. Returns whether to apply it. */
  private accept(m: RoomMessage, fallbackRoom = 'live'): boolean {
    const room = m.room ?? fallbackRoom;
    const last = this.seqs.get(room);
    this.notify();
    if (last !== undefined && m.seq <= last) return false;
    if (last !== undefined && m.seq !== last + 1) {
      this.view.gapResyncs++;
      void this.resync(room);
    }
    this.seqs.set(room, m.seq);
    return true;
  }

  private applySnapshot(snap: RoomMessage & Record<string, unknown>): void {
    const room = snap.room ?? 'live';
    this.seqs.set(room, snap.seq);
    if (room === 'live') {
      this.view.homes = new Map((snap.homes as LivePower[]).map((h) => [h.meter, h]));
      this.view.seq = snap.seq;
    } else if (room.startsWith('market:')) {
      const m = snap as unknown as MarketSnapshot;
      const prevTrades = this.view.market && this.view.market.info.id === m.market.id ? this.view.market.trades : new Map<string, Trade>();
      this.view.market = {
        info: m.market,
        slots: new Map(m.slots.map((s) => [s.slot, s])),
        books: new Map(m.books.map((b) => [b.slot, b])),
        trades: prevTrades,
        flows: m.flows,
      };
      this.addTrades(m.trades);
    } else if (room.startsWith('participant:')) {
      this.view.orders = new Map((snap.orders as OrderInfo[]).map((o) => [o.id, o]));
      this.view.privateEpoch++;
    }
    this.view.epoch++;
    this.notify();
  }

  private addTrades(trades: Trade[]): void {
    const market = this.view.market!;
    for (const t of trades) market.trades.set(t.id, t);
    if (market.trades.size > MAX_TRADES) {
      const keep = [...market.trades.values()].sort((a, b) => a.time - b.time || a.seq - b.seq).slice(-MAX_TRADES);
      market.trades = new Map(keep.map((t) => [t.id, t]));
    }
  }

  /** Ask the server for a room's snapshot (API.md `resync`); if the server cannot, reconnect (every connect snapshots). */
  async resync(room: string): Promise<void> {
    if (this.resyncing.has(room)) return;
    this.resyncing.add(room);
    const ack = await this.request<RoomMessage & Record<string, unknown>>('resync', { room }, 3000);
    this.resyncing.delete(room);
    if (ack.ok && ack.result) this.applySnapshot({ room, ...ack.result });
    else if (this.socket.connected) this.socket.disconnect().connect();
  }

  /** Join `market:<id>`: the ack carries the snapshot; re-sent on every reconnect. */
  async subscribeMarket(id: string): Promise<void> {
    this.marketId = id;
    if (!this.socket.connected) return;
    const ack = await this.request<RoomMessage & Record<string, unknown>>('subscribe', { market: id });
    if (ack.ok && ack.result) this.applySnapshot({ ...ack.result, room: ack.result.room ?? `market:${id}` });
  }

  /** Re-handshake with the session token so the server puts this socket in the participant's room. */
  setToken(token: string | null): void {
    this.socket.auth = token ? { token } : {};
    this.view.orders = new Map();
    this.view.address = null;
    if (this.socket.connected) {
      this.everConnected = false;
      this.socket.disconnect().connect();
    }
  }

  get current(): LiveView {
    return this.view;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener({ ...this.view });
    return () => this.listeners.delete(listener);
  }

  /** An event with an ack, as a promise (a timeout answers as an error, never throws). */
  request<T>(event: string, payload: unknown, ms = 5000): Promise<Ack<T>> {
    return new Promise((resolve) => {
      this.socket.timeout(ms).emit(event, payload, (err: unknown, ack?: Ack<T>) => {
        if (err || !ack) resolve({ ok: false, error: { code: 'INTERNAL', message: `no answer to ${event}` } });
        else resolve(ack);
      });
    });
  }

  /** Coalesce re-renders to one per animation frame, however many messages arrive. */
  private notify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    requestAnimationFrame(() => {
      this.notifyQueued = false;
      const snapshot = { ...this.view };
      for (const l of this.listeners) l(snapshot);
    });
  }
}

let shared: LiveLink | null = null;
export function liveLink(): LiveLink {
  shared ??= new LiveLink();
  return shared;
}
