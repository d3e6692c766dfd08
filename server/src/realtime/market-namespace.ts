// The /market namespace: rooms per market and per participant, snapshot + seq'd coalesced deltas, order commands with acks.
import type { Namespace, Socket } from 'socket.io';
import { ErrorCode, validate, type Ack, type LivePower, type MarketSubscribe, type RoomResync, type WireError } from '@gridmesh/contracts-abi';
import type { Session } from '../auth/session-tokens.ts';

/** Where rooms get their snapshots and deltas' contents from, and how order commands are executed. */
export interface MarketRoomSources {
  liveHomes(): LivePower[];
  hasMarket(market: string): boolean;
  /** Body of the `market:<id>` snapshot (without room/seq). */
  marketSnapshot(market: string): Promise<Record<string, unknown>>;
  participantSnapshot(address: string): Promise<Record<string, unknown>>;
  /** Changed books of a market, as BookSnapshot objects stamped with `seq`. */
  books(market: string, slots: number[], seq: number): unknown[];
  flows(market: string): Promise<unknown>;
  session(token: string | undefined, cookieHeader: string | undefined): Session | null;
  submitOrder(payload: unknown, session: Session): Promise<unknown>;
  amendOrder(payload: unknown, session: Session): Promise<unknown>;
  cancelOrder(payload: unknown, session: Session): Promise<unknown>;
}

/** Errors carrying an HTTP-style status and a wire error body (OrderError, HttpError). */
interface WireFailure { body: WireError }
const isWireFailure = (e: unknown): e is WireFailure => typeof e === 'object' && e !== null && 'body' in e && typeof (e as WireFailure).body?.code === 'string';

interface RoomState {
  seq: number;
  timer: NodeJS.Timeout | null;
  lastFlush: number;
  power: Map<string, LivePower>;
  books: Set<number>;
  trades: unknown[];
  slots: Map<number, unknown>;
  flows: boolean;
  orders: Map<string, unknown>;
  settlements: unknown[];
}

export interface MarketHub {
  power(update: LivePower): void;
  book(market: string, slot: number): void;
  trades(market: string, trades: unknown[]): void;
  slots(market: string, slots: { slot: number }[]): void;
  flows(market: string): void;
  orders(participant: string, orders: { id: string }[]): void;
  settlements(participant: string, rows: unknown[]): void;
  /** Whether updates of a market's or a participant's room would reach anyone (build them only then). */
  hearsMarket(market: string): boolean;
  hearsParticipant(participant: string): boolean;
  /** Current seq of a room (0 if nothing was sent yet). */
  seq(room: string): number;
  stop(): void;
}

/**
 * `clustered`: rooms span several server processes (the Redis adapter), so this process cannot tell an empty room from
 * one whose members are elsewhere and sends every update.
 */
export function attachMarketNamespace(nsp: Namespace, sources: MarketRoomSources, intervalMs = 200, options: { clustered?: boolean } = {}): MarketHub {
  const rooms = new Map<string, RoomState>();
  let stopped = false;
  // A room nobody is in gets nothing: Socket.IO would encode each message before finding no socket to send it to, and
  // with clients on REST that was a participant room message per order. Whoever joins later starts from a snapshot
  // carrying the room's current seq, so the updates skipped here leave no gap.
  const heard = (name: string): boolean => options.clustered === true || (nsp.adapter.rooms.get(name)?.size ?? 0) > 0;
  const room = (name: string): RoomState => {
    let r = rooms.get(name);
    if (!r) {
      r = { seq: 0, timer: null, lastFlush: 0, power: new Map(), books: new Set(), trades: [], slots: new Map(), flows: false, orders: new Map(), settlements: [] };
      rooms.set(name, r);
    }
    return r;
  };

  const send = (name: string, r: RoomState, event: string, body: Record<string, unknown>) => {
    // Everyone left while the update waited for its flush.
    if (!heard(name)) return;
    r.seq += 1;
    nsp.to(name).emit(event, { room: name, seq: r.seq, ...body });
  };

  async function flush(name: string): Promise<void> {
    const r = room(name);
    r.timer = null;
    r.lastFlush = Date.now();
    if (r.power.size) { const homes = [...r.power.values()]; r.power.clear(); send(name, r, 'power', { homes }); }
    const market = name.startsWith('market:') ? name.slice(7) : null;
    if (market && r.slots.size) { const slots = [...r.slots.values()]; r.slots.clear(); send(name, r, 'slot', { slots }); }
    if (market && r.trades.length) { const trades = r.trades; r.trades = []; send(name, r, 'trade', { trades }); }
    if (market && r.books.size) {
      const slots = [...r.books].sort((a, b) => a - b);
      r.books.clear();
      // The books carry the seq of the message they travel in.
      send(name, r, 'book', { books: sources.books(market, slots, r.seq + 1) });
    }
    if (market && r.flows) { r.flows = false; send(name, r, 'flows', { flows: await sources.flows(market) }); }
    if (r.orders.size) { const orders = [...r.orders.values()]; r.orders.clear(); send(name, r, 'order', { orders }); }
    if (r.settlements.length) { const settlements = r.settlements; r.settlements = []; send(name, r, 'settlement', { settlements }); }
  }

  /** At most one flush per interval per room: the first change waits for the rest of the interval, later ones ride along. */
  const schedule = (name: string) => {
    if (stopped) return;
    const r = room(name);
    if (r.timer) return;
    const wait = Math.max(0, r.lastFlush + intervalMs - Date.now());
    r.timer = setTimeout(() => void flush(name).catch(() => undefined), wait);
  };

  async function snapshotOf(name: string, session: Session | null): Promise<Record<string, unknown> | null> {
    if (name === 'live') return { room: name, seq: room(name).seq, homes: sources.liveHomes() };
    if (name.startsWith('market:') && sources.hasMarket(name.slice(7))) {
      const seq = room(name).seq;
      return { room: name, seq, ...(await sources.marketSnapshot(name.slice(7))) };
    }
    if (name.startsWith('participant:') && session && name === `participant:${session.address}`) {
      return { room: name, seq: room(name).seq, ...(await sources.participantSnapshot(session.address)) };
    }
    return null;
  }

  nsp.on('connection', (socket: Socket) => {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const session = sources.session(typeof auth?.token === 'string' ? auth.token : undefined, socket.handshake.headers.cookie);
    const own = session ? `participant:${session.address}` : null;
    void socket.join('live');
    if (own) void socket.join(own);
    socket.emit('hello', { address: session?.address ?? null, rooms: own ? ['live', own] : ['live'] });
    // Snapshot first, then deltas carrying `seq`, so a client can tell whether it missed one.
    socket.emit('snapshot', { room: 'live', seq: room('live').seq, homes: sources.liveHomes() });
    if (own) void snapshotOf(own, session).then((snap) => snap && socket.emit('snapshot', snap)).catch(() => undefined);

    const command = (event: string, run: (payload: unknown) => Promise<unknown>) => {
      socket.on(event, (payload: unknown, ack?: unknown) => {
        const reply = typeof ack === 'function' ? (ack as (a: Ack<unknown>) => void) : () => undefined;
        Promise.resolve().then(() => run(payload)).then(
          (result) => reply({ ok: true, result }),
          (err: unknown) => reply({ ok: false, error: isWireFailure(err) ? err.body : { code: ErrorCode.INTERNAL, message: 'internal error' } }),
        );
      });
    };
    const needSession = (): Session => {
      if (!session) throw { body: { code: ErrorCode.UNAUTHENTICATED, message: 'sign in first: connect with auth { token }' } } satisfies WireFailure;
      return session;
    };
    const invalid = (error: WireError): WireFailure => ({ body: error });

    command('subscribe', async (payload) => {
      const v = validate<MarketSubscribe>('MarketSubscribe', payload);
      if (!v.ok) throw invalid(v.error);
      if (!sources.hasMarket(v.value.market)) throw invalid({ code: ErrorCode.NOT_FOUND, message: `no market ${v.value.market}`, fields: [{ field: '/market', message: 'unknown market' }] });
      const name = `market:${v.value.market}`;
      await socket.join(name);
      return snapshotOf(name, session);
    });
    command('unsubscribe', async (payload) => {
      const v = validate<MarketSubscribe>('MarketSubscribe', payload);
      if (!v.ok) throw invalid(v.error);
      await socket.leave(`market:${v.value.market}`);
      return {};
    });
    command('resync', async (payload) => {
      const v = validate<RoomResync>('RoomResync', payload);
      if (!v.ok) throw invalid(v.error);
      const snap = socket.rooms.has(v.value.room) ? await snapshotOf(v.value.room, session) : null;
      if (!snap) throw invalid({ code: ErrorCode.NOT_FOUND, message: `not in room ${v.value.room}`, fields: [{ field: '/room', message: 'not a room of this socket' }] });
      return snap;
    });
    command('order:submit', (payload) => sources.submitOrder(payload, needSession()));
    command('order:amend', (payload) => sources.amendOrder(payload, needSession()));
    command('order:cancel', (payload) => sources.cancelOrder(payload, needSession()));
  });

  const marketRoom = (market: string) => `market:${market}`;
  const participantRoom = (participant: string) => `participant:${participant.toLowerCase()}`;
  return {
    power(update) { if (!heard('live')) return; room('live').power.set(update.meter, update); schedule('live'); },
    book(market, slot) { const name = marketRoom(market); if (!heard(name)) return; room(name).books.add(slot); schedule(name); },
    trades(market, trades) { const name = marketRoom(market); if (!trades.length || !heard(name)) return; room(name).trades.push(...trades); schedule(name); },
    slots(market, slots) { const name = marketRoom(market); if (!heard(name)) return; const r = room(name); for (const s of slots) r.slots.set(s.slot, s); schedule(name); },
    flows(market) { const name = marketRoom(market); if (!heard(name)) return; room(name).flows = true; schedule(name); },
    orders(participant, orders) { const name = participantRoom(participant); if (!heard(name)) return; const r = room(name); for (const o of orders) r.orders.set(o.id, o); schedule(name); },
    settlements(participant, rows) { const name = participantRoom(participant); if (!heard(name)) return; room(name).settlements.push(...rows); schedule(name); },
    hearsMarket: (market) => heard(marketRoom(market)),
    hearsParticipant: (participant) => heard(participantRoom(participant)),
    seq: (name) => room(name).seq,
    stop() {
      stopped = true;
      for (const r of rooms.values()) if (r.timer) clearTimeout(r.timer);
    },
  };
}
