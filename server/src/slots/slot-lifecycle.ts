// Drives every delivery slot from opening to on-chain settlement: open → gate_closed → delivering → metering → settling → settled.
import type { SlotRecord, SlotSettlementInfo, TradeRecord } from '../store/index.ts';
import type { MarketRuntime } from '../orders/market-runtime.ts';
import { emptySlot } from '../orders/market-runtime.ts';
import type { MarketSettings } from '../orders/market-settings.ts';
import type { Clock, Timer } from './clock.ts';

/**
 * Delivery settlement and the chain outbox, seen from the lifecycle. `settle` is called once the metering window of a
 * slot has passed: it computes the slot's settlement and stores the batch in the outbox (must be idempotent per slot:
 * after a crash it may be called again). `status` reports how far the batch got.
 */
export interface SlotSettler {
  settle(market: MarketSettings, slot: number, trades: TradeRecord[]): Promise<SlotSettlementInfo>;
  status(market: MarketSettings, slot: number): Promise<SlotSettlementInfo | null>;
}

export interface LifecycleLog {
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** How often the lifecycle looks at settlements in flight. */
const POLL_MS = 1000;

export class SlotLifecycle {
  private timer: Timer | null = null;
  private running = false;
  private stopped = false;
  private readonly listeners: ((market: string, slots: SlotRecord[]) => void)[] = [];
  private settler: SlotSettler | null = null;

  constructor(private readonly markets: ReadonlyMap<string, MarketRuntime>, private readonly clock: Clock, private readonly log: LifecycleLog) {}

  /** Part B / the chain module plug delivery settlement in here; without one a slot is marked settled after metering. */
  setSettler(settler: SlotSettler | null): void { this.settler = settler; }
  onSlots(listener: (market: string, slots: SlotRecord[]) => void): void { this.listeners.push(listener); }

  start(): void {
    this.stopped = false;
    void this.step();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private chain: Promise<void> = Promise.resolve();

  /** Advance every slot as far as the clock allows, then sleep until the next due transition. Runs are serialised. */
  step(): Promise<void> {
    this.chain = this.chain.then(() => this.run());
    return this.chain;
  }

  private async run(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.timer?.cancel();
    this.timer = null;
    let next = Number.POSITIVE_INFINITY;
    try {
      for (const rt of this.markets.values()) next = Math.min(next, await this.advance(rt));
    } catch (err) {
      this.log.error('slot lifecycle step failed', { err: err instanceof Error ? err.message : String(err) });
      next = this.clock.now() + POLL_MS;
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    const wait = Math.max(0, Math.min(next - this.clock.now(), POLL_MS));
    this.timer = this.clock.setTimer(wait, () => void this.step());
  }

  private emit(market: string, slots: SlotRecord[]): void {
    if (slots.length) for (const l of this.listeners) l(market, slots);
  }

  /** Returns the time of the next transition of this market. */
  private async advance(rt: MarketRuntime): Promise<number> {
    const s = rt.settings;
    const now = this.clock.now();
    const changed: SlotRecord[] = [];
    // Open every slot whose trading window has begun and whose gate has not passed.
    const firstOpen = Math.floor((now + s.gateMs) / s.slotMs) * s.slotMs + s.slotMs;
    const lastOpen = Math.floor((now + s.horizonMs) / s.slotMs) * s.slotMs;
    for (let slot = Math.max(firstOpen - s.slotMs, 0); slot <= lastOpen; slot += s.slotMs) {
      if (now >= slot - s.gateMs || now < slot - s.horizonMs) continue;
      if (rt.slotRecord(slot) || (await rt.storeRef.market.slot(s.id, slot))) continue;
      const record = emptySlot(s.id, slot, now);
      await rt.saveSlot(record);
      changed.push(record);
    }
    let next = lastOpen + s.slotMs - s.horizonMs;
    for (const record of rt.liveSlots()) {
      const r = await this.advanceSlot(rt, record, now);
      if (r.changed) changed.push(...r.changed);
      next = Math.min(next, r.next);
    }
    this.emit(s.id, changed);
    return next;
  }

  private async advanceSlot(rt: MarketRuntime, start: SlotRecord, now: number): Promise<{ changed: SlotRecord[]; next: number }> {
    const s = rt.settings;
    const slot = start.slot;
    const gateAt = slot - s.gateMs;
    const endAt = slot + s.slotMs;
    const meteredAt = endAt + s.graceMs;
    const changed: SlotRecord[] = [];
    let record = start;
    const move = async (state: SlotRecord['state'], extra: Partial<SlotRecord> = {}) => {
      record = { ...record, ...extra, state, stateSince: now };
      await rt.saveSlot(record);
      changed.push(record);
    };
    if (record.state === 'open') {
      if (now < gateAt) return { changed, next: gateAt };
      // Gate closure is a market command: journaled, so a call auction clears exactly once and replay knows the slot closed.
      const result = await rt.serial(() => rt.execute({ type: 'close', slot, time: now }, null, slot));
      const closed = result.slots.find((x) => x.slot === slot) ?? rt.slotRecord(slot);
      if (result.rejected || !closed || closed.state === 'open') {
        await move('gate_closed');
      } else {
        record = closed;
        changed.push(record);
        this.afterClose?.(rt.settings.id, result);
      }
    }
    if (record.state === 'gate_closed') {
      if (now < slot) return { changed, next: slot };
      await move('delivering');
    }
    if (record.state === 'delivering') {
      if (now < endAt) return { changed, next: endAt };
      await move('metering');
    }
    if (record.state === 'metering') {
      if (now < meteredAt) return { changed, next: meteredAt };
      if (!this.settler) {
        await move('settled');
        return { changed, next: Number.POSITIVE_INFINITY };
      }
      const trades = await rt.storeRef.market.trades({ market: s.id, from: slot, to: slot + 1 });
      const info = await this.settler.settle(s, slot, trades);
      await move(info.status === 'confirmed' ? 'settled' : 'settling', { settlement: info });
      if ((record.state as string) === 'settled') return { changed, next: Number.POSITIVE_INFINITY };
    }
    if (record.state === 'settling' && this.settler) {
      const info = (await this.settler.status(s, slot)) ?? record.settlement;
      if (info && JSON.stringify(info) !== JSON.stringify(record.settlement)) {
        await move(info.status === 'confirmed' ? 'settled' : 'settling', { settlement: info });
      }
      return { changed, next: now + POLL_MS };
    }
    return { changed, next: Number.POSITIVE_INFINITY };
  }

  /** Called with the effects of each gate closure (expired orders, call-auction trades) so they can be broadcast. */
  afterClose: ((market: string, result: import('../orders/market-runtime.ts').ExecuteResult) => void) | null = null;
}
