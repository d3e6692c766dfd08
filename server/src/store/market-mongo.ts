// MongoDB collections of the market port (mongoose): journal, nonces, orders, trades, slots; one transaction per command.
import { Schema, type ClientSession, type Connection } from 'mongoose';
import type { Address } from '@gridmesh/contracts-abi';
import type { JournalEntry, MarketCommit, MarketRepo, OrderRecord, SlotRecord, TradeRecord } from './market-port.ts';

const key = (a: string) => a.toLowerCase();

interface CounterDoc { _id: string; seq: number }
interface NonceDoc { participant: string; nonce: number }
type OrderDoc = Omit<OrderRecord, 'id'> & { _id: string };
type TradeDoc = Omit<TradeRecord, 'id'> & { _id: string };
type SlotDoc = SlotRecord & { _id: string };

const journalSchema = new Schema<JournalEntry>({ market: String, seq: Number, slot: Number, command: String, time: Number }, { versionKey: false });
journalSchema.index({ market: 1, seq: 1 }, { unique: true });
journalSchema.index({ market: 1, slot: 1, seq: 1 });
const counterSchema = new Schema<CounterDoc>({ _id: String, seq: Number }, { versionKey: false });
const nonceSchema = new Schema<NonceDoc>({ participant: String, nonce: Number }, { versionKey: false });
nonceSchema.index({ participant: 1, nonce: 1 }, { unique: true });
const orderSchema = new Schema<OrderDoc>(
  {
    _id: String, market: String, slot: Number, participant: String, side: String, price: String, quantityWh: Number, filledWh: Number,
    remainingWh: Number, timeInForce: String, status: String, nonce: Number, expiry: Number, signature: String, signer: String,
    source: String, createdAt: Number, updatedAt: Number,
  },
  { versionKey: false },
);
orderSchema.index({ participant: 1, createdAt: -1 });
orderSchema.index({ market: 1, slot: 1 });
const tradeSchema = new Schema<TradeDoc>(
  { _id: String, market: String, slot: Number, seq: Number, buyOrder: String, sellOrder: String, buyer: String, seller: String, price: String, quantityWh: Number, time: Number },
  { versionKey: false },
);
tradeSchema.index({ market: 1, slot: 1, seq: 1 });
tradeSchema.index({ buyer: 1, slot: 1 });
tradeSchema.index({ seller: 1, slot: 1 });
const slotSchema = new Schema<SlotDoc>(
  { _id: String, market: String, slot: Number, state: String, stateSince: Number, tradeCount: Number, volumeWh: Number, turnover: String, clearingPrice: { type: String, default: null }, settlement: { type: Schema.Types.Mixed, default: null } },
  { versionKey: false },
);
slotSchema.index({ market: 1, slot: 1 });
slotSchema.index({ market: 1, state: 1, slot: 1 });

const strip = <T extends { _id: string }>(d: T): Omit<T, '_id'> & { id: string } => {
  const { _id, ...rest } = d;
  return { id: _id, ...rest };
};
const slotId = (market: string, slot: number) => `${market}:${slot}`;
const toSlot = (d: SlotDoc): SlotRecord => {
  const { _id: _ignored, ...rest } = d;
  return rest;
};

export async function mongoMarketRepo(conn: Connection): Promise<MarketRepo> {
  const Journal = conn.model<JournalEntry>('MarketJournal', journalSchema, 'market_journal');
  const Counters = conn.model<CounterDoc>('Counter', counterSchema, 'counters');
  const Nonces = conn.model<NonceDoc>('OrderNonce', nonceSchema, 'order_nonces');
  const Orders = conn.model<OrderDoc>('Order', orderSchema, 'orders');
  const Trades = conn.model<TradeDoc>('Trade', tradeSchema, 'trades');
  const Slots = conn.model<SlotDoc>('Slot', slotSchema, 'slots');
  await Promise.all([Journal.init(), Counters.init(), Nonces.init(), Orders.init(), Trades.init(), Slots.init()]);

  async function write(c: MarketCommit, session: ClientSession): Promise<number> {
    if (c.nonce) await Nonces.create([{ participant: key(c.nonce.participant), nonce: c.nonce.nonce }], { session });
    const counter = await Counters.findOneAndUpdate({ _id: `journal:${c.entry.market}` }, { $inc: { seq: 1 } }, { upsert: true, new: true, session, lean: true });
    const seq = (counter as CounterDoc).seq;
    await Journal.create([{ ...c.entry, seq }], { session });
    for (const o of c.orders) {
      const { id, ...rest } = o;
      await Orders.replaceOne({ _id: id }, { ...rest, participant: key(o.participant), signer: key(o.signer) }, { upsert: true, session });
    }
    if (c.trades.length) await Trades.insertMany(c.trades.map(({ id, ...t }) => ({ _id: id, ...t, buyer: key(t.buyer), seller: key(t.seller) })), { session });
    for (const s of c.slots) await Slots.replaceOne({ _id: slotId(s.market, s.slot) }, s, { upsert: true, session });
    return seq;
  }

  return {
    async commit(change) {
      // Deployments run a replica set, so the journal row, its trades and order updates land together or not at all.
      const seq = await conn.transaction((session) => write(change, session));
      return { seq: seq as unknown as number };
    },
    async journal(market, slots) {
      return Journal.find({ market, slot: { $in: slots } }, { _id: 0 }).sort({ seq: 1 }).lean<JournalEntry[]>();
    },
    async nonceUsed(participant, nonce) {
      return (await Nonces.exists({ participant: key(participant), nonce })) !== null;
    },
    async noncesOf(participant) {
      const docs = await Nonces.find({ participant: key(participant) }, { nonce: 1, _id: 0 }).lean<{ nonce: number }[]>();
      return docs.map((d) => d.nonce);
    },
    async order(id) {
      const doc = await Orders.findById(id).lean<OrderDoc>();
      return doc ? (strip(doc) as OrderRecord) : null;
    },
    async orders(query) {
      const filter: Record<string, unknown> = {};
      if (query.participant) filter.participant = key(query.participant);
      if (query.market) filter.market = query.market;
      if (query.slot !== undefined) filter.slot = query.slot;
      else if (query.fromSlot !== undefined) filter.slot = { $gte: query.fromSlot };
      if (query.status && query.status !== 'all') filter.status = query.status;
      const docs = await Orders.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit ?? 500).lean<OrderDoc[]>();
      return docs.map((d) => strip(d) as OrderRecord);
    },
    async trades(query) {
      const filter: Record<string, unknown> = {};
      if (query.market) filter.market = query.market;
      if (query.participant) filter.$or = [{ buyer: key(query.participant) }, { seller: key(query.participant) }];
      if (query.from !== undefined || query.to !== undefined) filter.slot = { $gte: query.from ?? 0, $lt: query.to ?? Number.MAX_SAFE_INTEGER };
      const docs = await Trades.find(filter).sort({ slot: 1, seq: 1 }).limit(query.limit ?? 10_000).lean<TradeDoc[]>();
      return docs.map((d) => ({ ...(strip(d) as TradeRecord), buyer: d.buyer as Address, seller: d.seller as Address }));
    },
    async upsertSlot(slot) {
      await Slots.replaceOne({ _id: slotId(slot.market, slot.slot) }, slot, { upsert: true });
    },
    async slot(market, slot) {
      const doc = await Slots.findById(slotId(market, slot)).lean<SlotDoc>();
      return doc ? toSlot(doc) : null;
    },
    async slots(market, from, to) {
      const docs = await Slots.find({ market, slot: { $gte: from, $lt: to } }).sort({ slot: 1 }).lean<SlotDoc[]>();
      return docs.map(toSlot);
    },
    async slotsInState(market, states) {
      const docs = await Slots.find({ market, state: { $in: states } }).sort({ slot: 1 }).lean<SlotDoc[]>();
      return docs.map(toSlot);
    },
  };
}
