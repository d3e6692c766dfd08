// Delivery settlement of one slot (pure): delivered = min(sold, metered export), pay what was delivered, short sellers pay the imbalance.
import { allocateLargestRemainder } from './allocate.ts';
import type { SlotMetering } from './metering.ts';

/** A trade of the slot as the market engine produced it (price in token base units per kWh, bigint). */
export interface SettlementTrade {
  seq: number;
  buyer: string;
  seller: string;
  price: bigint;
  quantityWh: number;
}

export interface DeliverySettlementInput {
  slot: number;
  trades: readonly SettlementTrade[];
  /** Metering of each participant in the slot (grid-connection meters). Missing or `metered: false` → export 0. */
  metering: ReadonlyMap<string, SlotMetering> | Record<string, SlotMetering>;
  /** Retail tariff (the market's price cap), token base units per kWh: what a buyer pays the grid for missing energy. */
  retailPrice: bigint;
  /** Grid fee per delivered kWh paid by the buyer on top of the trade price (default 0). */
  gridFee?: bigint;
  /** Receives the grid fees; required when gridFee > 0. */
  gridFeeAccount?: string;
  /**
   * Optional escrow balances before this slot. When given, a short seller's imbalance is capped at what its escrow
   * plus this slot's receipts can cover, so the on-chain batch never drives an account negative; the rest is
   * reported as `imbalanceUnpaid`.
   */
  escrow?: ReadonlyMap<string, bigint>;
}

/** One trade after delivery: energy split into delivered and undelivered, and the transfers it causes. */
export interface TradeSettlement {
  seq: number;
  buyer: string;
  seller: string;
  price: bigint;
  quantityWh: number;
  deliveredWh: number;
  undeliveredWh: number;
  /** buyer → seller: floor(price × deliveredWh / 1000). */
  payment: bigint;
  /** seller → buyer: floor((retail − price) × undeliveredWh / 1000), possibly capped by the seller's escrow. */
  imbalance: bigint;
  /** buyer → grid fee account: floor(gridFee × deliveredWh / 1000). */
  gridFee: bigint;
}

export interface ParticipantSlotSettlement {
  participant: string;
  slot: number;
  metered: boolean;
  meteringFlags: string[];
  meteredImportWh: number;
  meteredExportWh: number;
  boughtWh: number;
  soldWh: number;
  /** As seller: min(sold, metered export). */
  deliveredWh: number;
  /** As seller: sold − delivered. */
  undeliveredWh: number;
  /** As buyer: the part of its purchases its sellers delivered (what it pays for). */
  boughtDeliveredWh: number;
  paid: bigint;
  received: bigint;
  imbalancePaid: bigint;
  imbalanceReceived: bigint;
  /** Imbalance owed but not covered by escrow (only with `escrow` given). */
  imbalanceUnpaid: bigint;
  gridFeePaid: bigint;
  gridFeeReceived: bigint;
  /** received + imbalanceReceived + gridFeeReceived − paid − imbalancePaid − gridFeePaid. */
  netDelta: bigint;
}

/** The netted batch for EnergyMarket.settleSlot: accounts strictly ascending (lower-case hex), deltas summing to 0. */
export interface SettlementBatch {
  slot: number;
  accounts: string[];
  deltas: bigint[];
}

export interface SlotSettlement {
  slot: number;
  trades: TradeSettlement[];
  participants: ParticipantSlotSettlement[];
  batch: SettlementBatch;
}

export class SettlementInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'SettlementInputError';
  }
}

const INT96_MAX = (1n << 95n) - 1n;
const INT96_MIN = -(1n << 95n);

/** Amount for `wh` Wh at `pricePerKWh`, rounded down: the single rounding step of every transfer. */
export const amountFor = (pricePerKWh: bigint, wh: number | bigint): bigint => (pricePerKWh * BigInt(wh)) / 1000n;

function meteringOf(input: DeliverySettlementInput, p: string): SlotMetering | undefined {
  const m = input.metering;
  return m instanceof Map ? m.get(p) : (m as Record<string, SlotMetering>)[p];
}

function emptyRow(participant: string, slot: number, m: SlotMetering | undefined): ParticipantSlotSettlement {
  return {
    participant, slot,
    metered: m?.metered ?? false,
    meteringFlags: m ? [...m.flags] : ['not-metered'],
    meteredImportWh: m?.metered ? m.importWh : 0,
    meteredExportWh: m?.metered ? m.exportWh : 0,
    boughtWh: 0, soldWh: 0, deliveredWh: 0, undeliveredWh: 0, boughtDeliveredWh: 0,
    paid: 0n, received: 0n, imbalancePaid: 0n, imbalanceReceived: 0n, imbalanceUnpaid: 0n, gridFeePaid: 0n, gridFeeReceived: 0n, netDelta: 0n,
  };
}

/**
 * Settles one delivery slot. Rounding rule: every transfer (payment, imbalance, grid fee of one trade) is rounded down
 * to a whole base unit once, and then debited from one account and credited to another by the same amount; the
 * per-account deltas are sums of these whole transfers, so Σ deltas = 0 exactly. Energy is apportioned in whole Wh by
 * largest remainder (ties by trade seq), so a seller's delivered Wh over its trades add up to min(sold, export) exactly.
 */
export function settleDeliverySlot(input: DeliverySettlementInput): SlotSettlement {
  const gridFee = input.gridFee ?? 0n;
  if (input.retailPrice < 0n) throw new SettlementInputError('retailPrice', 'must not be negative');
  if (gridFee < 0n) throw new SettlementInputError('gridFee', 'must not be negative');
  if (gridFee > 0n && !input.gridFeeAccount) throw new SettlementInputError('gridFeeAccount', 'is required when gridFee > 0');
  const norm = (a: string) => a.toLowerCase();
  const trades = [...input.trades].sort((a, b) => a.seq - b.seq);
  for (const [i, t] of trades.entries()) {
    if (!Number.isSafeInteger(t.quantityWh) || t.quantityWh <= 0) throw new SettlementInputError(`trades/${i}/quantityWh`, 'must be a positive integer');
    if (t.price < 0n) throw new SettlementInputError(`trades/${i}/price`, 'must not be negative');
    if (norm(t.buyer) === norm(t.seller)) throw new SettlementInputError(`trades/${i}`, 'buyer and seller are the same participant');
    if (i > 0 && trades[i - 1].seq === t.seq) throw new SettlementInputError(`trades/${i}/seq`, `duplicate trade seq ${t.seq}`);
  }

  const rows = new Map<string, ParticipantSlotSettlement>();
  const row = (p: string): ParticipantSlotSettlement => {
    const k = norm(p);
    let r = rows.get(k);
    if (!r) {
      r = emptyRow(k, input.slot, meteringOf(input, k) ?? meteringOf(input, p));
      rows.set(k, r);
    }
    return r;
  };

  // Group trades by seller, in seq order.
  const bySeller = new Map<string, number[]>();
  trades.forEach((t, i) => {
    const s = norm(t.seller);
    const list = bySeller.get(s) ?? [];
    list.push(i);
    bySeller.set(s, list);
    row(t.buyer).boughtWh += t.quantityWh;
    row(t.seller).soldWh += t.quantityWh;
  });

  const settled: TradeSettlement[] = trades.map((t) => ({
    seq: t.seq, buyer: norm(t.buyer), seller: norm(t.seller), price: t.price, quantityWh: t.quantityWh,
    deliveredWh: 0, undeliveredWh: t.quantityWh, payment: 0n, imbalance: 0n, gridFee: 0n,
  }));

  for (const [seller, idx] of bySeller) {
    const r = row(seller);
    const delivered = Math.min(r.soldWh, r.metered ? r.meteredExportWh : 0);
    r.deliveredWh = delivered;
    r.undeliveredWh = r.soldWh - delivered;
    const parts = allocateLargestRemainder(BigInt(delivered), idx.map((i) => BigInt(trades[i].quantityWh)));
    idx.forEach((i, j) => {
      const s = settled[i];
      s.deliveredWh = Number(parts[j]);
      s.undeliveredWh = s.quantityWh - s.deliveredWh;
      s.payment = amountFor(s.price, s.deliveredWh);
      s.gridFee = amountFor(gridFee, s.deliveredWh);
      // A trade priced at or above retail leaves the buyer no worse off when undelivered: no imbalance.
      const spread = input.retailPrice > s.price ? input.retailPrice - s.price : 0n;
      s.imbalance = amountFor(spread, s.undeliveredWh);
    });
  }

  // Optional cap of each short seller's imbalance by what it can cover.
  if (input.escrow) {
    const credits = new Map<string, bigint>();
    const debits = new Map<string, bigint>();
    for (const s of settled) {
      credits.set(s.seller, (credits.get(s.seller) ?? 0n) + s.payment);
      debits.set(s.buyer, (debits.get(s.buyer) ?? 0n) + s.payment + s.gridFee);
    }
    for (const [seller, idx] of bySeller) {
      const owed = idx.reduce((a, i) => a + settled[i].imbalance, 0n);
      if (owed === 0n) continue;
      const escrow = input.escrow.get(seller) ?? input.escrow.get(seller.toLowerCase()) ?? 0n;
      const available = escrow + (credits.get(seller) ?? 0n) - (debits.get(seller) ?? 0n);
      const cap = available > 0n ? available : 0n;
      if (owed <= cap) continue;
      const parts = allocateLargestRemainder(cap, idx.map((i) => settled[i].imbalance));
      idx.forEach((i, j) => { settled[i].imbalance = parts[j]; });
      row(seller).imbalanceUnpaid = owed - cap;
    }
  }

  const feeAccount = input.gridFeeAccount ? norm(input.gridFeeAccount) : undefined;
  for (const s of settled) {
    const b = row(s.buyer);
    const se = row(s.seller);
    b.boughtDeliveredWh += s.deliveredWh;
    b.paid += s.payment;
    se.received += s.payment;
    se.imbalancePaid += s.imbalance;
    b.imbalanceReceived += s.imbalance;
    if (s.gridFee > 0n && feeAccount) {
      b.gridFeePaid += s.gridFee;
      row(feeAccount).gridFeeReceived += s.gridFee;
    }
  }

  const participants = [...rows.values()].sort((a, b) => (a.participant < b.participant ? -1 : a.participant > b.participant ? 1 : 0));
  for (const r of participants) {
    r.netDelta = r.received + r.imbalanceReceived + r.gridFeeReceived - r.paid - r.imbalancePaid - r.gridFeePaid;
    if (r.netDelta > INT96_MAX || r.netDelta < INT96_MIN) throw new SettlementInputError('trades', `net delta of ${r.participant} exceeds int96`);
  }
  return { slot: input.slot, trades: settled, participants, batch: toBatch(input.slot, participants) };
}

/**
 * The settleSlot batch: one entry per participant of the slot, sorted ascending by address (as the contract requires:
 * strictly ascending, each account written once). Accounts with a zero delta are left out unless all are zero, in which
 * case all stay (the contract refuses an empty batch, and the slot's trade root must still be recorded).
 */
export function toBatch(slot: number, participants: readonly Pick<ParticipantSlotSettlement, 'participant' | 'netDelta'>[]): SettlementBatch {
  const sorted = [...participants].sort((a, b) => (a.participant < b.participant ? -1 : a.participant > b.participant ? 1 : 0));
  const nonZero = sorted.filter((p) => p.netDelta !== 0n);
  const chosen = nonZero.length ? nonZero : sorted;
  return { slot, accounts: chosen.map((p) => p.participant.toLowerCase()), deltas: chosen.map((p) => p.netDelta) };
}
