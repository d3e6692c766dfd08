// Demo stand-in for trade rules: each home offers its live surplus or bids for its live deficit in the next open slot.
import type { HDNodeWallet, Wallet } from 'ethers';
import { OrderTypes, gridmeshDomain, type Address, type OrderSubmission } from '@gridmesh/contracts-abi';
import type { GridmeshServer } from '../server.ts';
import { orderTypedMessage, type SignedOrderFields } from '../orders/order-signature.ts';
import { OrderError } from '../orders/order-service.ts';

export interface TradingHome {
  index: number;
  name: string;
  owner: Wallet | HDNodeWallet;
  meter: Address;
}

/**
 * Every `intervalMs`: a home exporting now asks for the energy it would export over the next open slot; a home importing
 * bids for its deficit. Sellers ask below and buyers bid above the middle of [floor, cap], so they meet. Orders are signed
 * with the owner's key and go through the normal order service (signature, risk, journal), exactly like the dashboard's.
 */
export class DemoTrader {
  private timer: NodeJS.Timeout | null = null;
  private nonce: number;
  private busy = false;

  constructor(private readonly server: GridmeshServer, private readonly marketId: string, private readonly homes: () => TradingHome[], private readonly log: (msg: string) => void = () => undefined) {
    // Nonces must never repeat across restarts: start from the clock.
    this.nonce = server.clock.now() * 100;
  }

  start(intervalMs = 4000): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stop for good once this returns true (e.g. when the trade rules have started placing orders). */
  stopWhen: (() => Promise<boolean>) | null = null;

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.stopWhen && (await this.stopWhen())) {
        this.log('trade rules are placing orders now: the warm-up trader stops');
        this.stop();
        return;
      }
      for (const home of this.homes()) await this.trade(home).catch((err) => this.log(`demo order for ${home.name} failed: ${err instanceof Error ? err.message : String(err)}`));
    } finally {
      this.busy = false;
    }
  }

  private async sign(fields: SignedOrderFields, owner: Wallet | HDNodeWallet): Promise<OrderSubmission> {
    const signature = await owner.signTypedData(gridmeshDomain(this.server.orders.chainId), OrderTypes, orderTypedMessage(fields));
    return { ...fields, signature: signature as `0x${string}` };
  }

  private async trade(home: TradingHome): Promise<void> {
    const rt = this.server.markets.get(this.marketId);
    const live = this.server.live.get(home.meter);
    const now = this.server.clock.now();
    if (!rt || !live || now - live.timestamp > 15_000) return;
    const s = rt.settings;
    let slot = now - (now % s.slotMs) + s.slotMs;
    if (now >= slot - s.gateMs - 3000) slot += s.slotMs;
    const energyWh = Math.round((Math.abs(live.powerW) * s.slotMs) / 3_600_000);
    const side = live.powerW < 0 ? 'ask' : 'bid';
    const owner = home.owner.address.toLowerCase() as Address;
    const mid = (s.floor + s.cap) / 2n;
    const step = (s.cap - s.floor) / 20n;
    const raw = side === 'ask' ? mid - step * BigInt(1 + (home.index % 3)) : mid + step * BigInt(1 + (home.index % 3));
    const price = (raw / s.tick) * s.tick;
    const mine = rt.openOrdersOf(owner).filter((o) => o.slot === slot);
    for (const o of mine.filter((x) => x.side !== side)) await this.server.orders.cancel(o.id, { kind: 'session', address: owner });
    // Energy already bought or sold for this slot counts against the home's need: top up, never stack orders.
    const done = (await this.server.store.market.orders({ participant: owner, market: s.id, slot, status: 'all', limit: 10_000 }))
      .filter((o) => o.side === side).reduce((a, o) => a + o.filledWh, 0);
    const wantWh = energyWh - done;
    const same = mine.find((o) => o.side === side);
    const actor = { kind: 'session' as const, address: owner };
    if (wantWh < 5) {
      if (same) await this.server.orders.cancel(same.id, actor);
      return;
    }
    try {
      if (same) {
        if (Math.abs(same.remainingWh - wantWh) <= Math.max(5, wantWh * 0.2)) return;
        const nonce = ++this.nonce;
        const fields: SignedOrderFields = { participant: owner, market: s.id, slot, side, price: same.price, quantityWh: wantWh, timeInForce: 'gtc', nonce, expiry: slot };
        const { signature } = await this.sign(fields, home.owner);
        await this.server.orders.amend(same.id, { price: same.price, quantityWh: wantWh, nonce, expiry: slot, signature }, actor);
        return;
      }
      const fields: SignedOrderFields = { participant: owner, market: s.id, slot, side, price: price.toString(), quantityWh: wantWh, timeInForce: 'gtc', nonce: ++this.nonce, expiry: slot };
      await this.server.orders.submit(await this.sign(fields, home.owner), actor);
    } catch (err) {
      if (err instanceof OrderError) this.log(`${home.name}: ${err.body.reason ?? err.body.code} ${err.body.message}`);
      else throw err;
    }
  }
}
