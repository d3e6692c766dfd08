// Order entry: schema, EIP-712 signature, authorisation, expiry and nonce checks before the engine; answers after commit.
import { ErrorCode, validate, type Address, type OrderAmend, type OrderSubmission, type WireError } from '@gridmesh/contracts-abi';
import type { RejectReason } from '../market/index.ts';
import type { OrderRecord, TradeRecord } from '../store/index.ts';
import { orderIdOf } from '../store/market-port.ts';
import type { Clock } from '../slots/clock.ts';
import type { MarketRuntime } from './market-runtime.ts';
import { OrderSigner, type SignedOrderFields } from './order-signature.ts';
import { sharedRecoverPool, type RecoverPool } from './recover-pool.ts';

/** A refused order command: HTTP status + wire error (the same body goes into a Socket.IO ack). */
export class OrderError extends Error {
  constructor(readonly status: number, readonly body: WireError) {
    super(body.message);
  }
}

/** Who is acting: a signed-in participant (REST/socket session) or the trade-rule engine on a participant's behalf. */
export type OrderActor = { kind: 'session'; address: Address } | { kind: 'rule' };

/** True when `signer` is a session key the participant delegated (EIP-712) and that is valid at `now`. Supplied by the rules module. */
export type DelegateCheck = (participant: Address, signer: Address, now: number) => boolean;

export interface OrderOutcome {
  order: OrderRecord;
  trades: TradeRecord[];
}

/** Everything a command changed, for broadcasts and metrics. */
export interface OrderChange {
  market: string;
  orders: OrderRecord[];
  trades: TradeRecord[];
  slots: import('../store/index.ts').SlotRecord[];
}

const REASONS: Record<RejectReason, { status: number; field?: string; message: string }> = {
  invalid_command: { status: 400, message: 'the command is malformed' },
  invalid_id: { status: 400, field: '/orderId', message: 'order id is invalid' },
  invalid_side: { status: 400, field: '/side', message: 'side must be bid or ask' },
  invalid_price: { status: 400, field: '/price', message: 'price is not a valid amount' },
  off_tick: { status: 400, field: '/price', message: 'price is not on the tick grid' },
  price_out_of_range: { status: 400, field: '/price', message: 'price lies outside [floor, cap]' },
  invalid_quantity: { status: 400, field: '/quantityWh', message: 'quantity must be a positive integer of Wh' },
  invalid_time: { status: 400, message: 'invalid time' },
  invalid_slot: { status: 400, field: '/slot', message: 'slot is not a slot start of this market' },
  invalid_tif: { status: 400, field: '/timeInForce', message: 'time in force not allowed in this market' },
  duplicate_id: { status: 409, field: '/nonce', message: 'an order with this nonce is already open' },
  unknown_order: { status: 409, field: '/orderId', message: 'the order is no longer open' },
  slot_not_open: { status: 409, field: '/slot', message: 'trading for this slot has not opened yet' },
  gate_closed: { status: 409, field: '/slot', message: 'gate closure has passed for this slot' },
  slot_closed: { status: 409, field: '/slot', message: 'this slot is closed' },
  self_cross: { status: 409, field: '/price', message: 'the order would cross your own order in this slot' },
  no_change: { status: 409, message: 'the amendment changes nothing' },
  insufficient_escrow: { status: 409, field: '/quantityWh', message: 'free escrow does not cover the worst-case cost of this bid' },
  export_capacity: { status: 409, field: '/quantityWh', message: 'your meters cannot export this much energy in one slot' },
};

export function rejection(reason: string, message?: string, field?: string, status?: number): OrderError {
  const known = REASONS[reason as RejectReason];
  const f = field ?? known?.field;
  const msg = message ?? known?.message ?? reason;
  return new OrderError(status ?? known?.status ?? 400, { code: ErrorCode.ORDER_REJECTED, reason, message: msg, ...(f ? { fields: [{ field: f, message: msg }] } : {}) });
}

const lower = (a: string) => a.toLowerCase() as Address;

export class OrderService {
  private readonly signer: OrderSigner;
  /** Signer recovery off the main thread (null: inline). */
  private readonly recoverPool: RecoverPool | null = sharedRecoverPool();
  private delegateCheck: DelegateCheck = () => false;
  private readonly listeners: ((change: OrderChange) => void)[] = [];
  /**
   * Per participant, every nonce it used: read from the store once (the participant's first command since start), then
   * kept here, so no command queries the store for its nonce. A nonce is added when its command is applied — before the
   * group commit — so a repeat in the same group is refused, and removed again if that commit fails. The store's
   * primary key (participant, nonce) stays the backstop: a repeat that got past memory fails its commit.
   */
  private readonly nonces = new Map<Address, Set<number>>();
  private readonly nonceLoads = new Map<Address, Promise<Set<number>>>();

  constructor(private readonly markets: ReadonlyMap<string, MarketRuntime>, readonly chainId: number, private readonly clock: Clock) {
    this.signer = new OrderSigner(chainId);
  }

  private prepareBid: (participant: Address) => Promise<void> = async () => {};

  /** Called before a bid is checked, e.g. to refresh the participant's cached escrow balance from the chain. */
  setBidPreparation(prepare: (participant: Address) => Promise<void>): void { this.prepareBid = prepare; }

  /** Metrics hook: every command with its outcome and latency (signature check + match + commit). */
  observe: ((command: 'submit' | 'amend' | 'cancel', result: string, seconds: number) => void) | null = null;

  private async timed<T>(command: 'submit' | 'amend' | 'cancel', run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let result = 'ok';
    try {
      return await run();
    } catch (err) {
      result = err instanceof OrderError ? (err.body.reason ?? err.body.code) : 'error';
      throw err;
    } finally {
      this.observe?.(command, result, (performance.now() - started) / 1000);
    }
  }

  /** The rules module registers how to recognise a participant's delegated session keys. */
  setDelegateCheck(check: DelegateCheck): void { this.delegateCheck = check; }
  onChange(listener: (change: OrderChange) => void): void { this.listeners.push(listener); }

  private runtime(market: string): MarketRuntime {
    const rt = this.markets.get(market);
    if (!rt) throw rejection('unknown_market', `no market named ${JSON.stringify(market)}`, '/market', 400);
    return rt;
  }

  /** Recovers in the worker pool when there is one; if the pool fails (worker died), inline — never unverified. */
  private async recoverSigner(fields: SignedOrderFields, signature: string): Promise<Address | null> {
    if (this.recoverPool) {
      try {
        return await this.recoverPool.recover(this.chainId, fields, signature);
      } catch {
        // fall through to inline recovery
      }
    }
    return this.signer.recover(fields, signature);
  }

  /** The participant's used nonces (a Set once loaded; a promise while its first load runs). */
  private usedNonces(rt: MarketRuntime, participant: Address): Set<number> | Promise<Set<number>> {
    const known = this.nonces.get(participant);
    if (known) return known;
    let load = this.nonceLoads.get(participant);
    if (!load) {
      load = rt.storeRef.market.noncesOf(participant).then(
        (list) => {
          const set = new Set(list);
          this.nonces.set(participant, set);
          this.nonceLoads.delete(participant);
          return set;
        },
        (err: unknown) => { this.nonceLoads.delete(participant); throw err; },
      );
      this.nonceLoads.set(participant, load);
    }
    return load;
  }

  /** The signer must be the participant, or a key the participant delegated (rule orders). */
  private async checkSigner(fields: SignedOrderFields, signature: string, now: number): Promise<Address> {
    const signer = await this.recoverSigner(fields, signature);
    if (!signer) throw new OrderError(400, { code: ErrorCode.BAD_SIGNATURE, message: 'signature is malformed', fields: [{ field: '/signature', message: 'is malformed' }] });
    const participant = lower(fields.participant);
    if (signer !== participant && !this.delegateCheck(participant, signer, now)) {
      throw new OrderError(400, { code: ErrorCode.BAD_SIGNATURE, message: 'the Order signature is not the participant\'s (nor a key it delegated)', fields: [{ field: '/signature', message: 'does not recover to the participant' }] });
    }
    return signer;
  }

  private authorise(actor: OrderActor, participant: Address): void {
    if (actor.kind === 'session' && lower(actor.address) !== participant) {
      throw new OrderError(403, { code: ErrorCode.FORBIDDEN, message: 'you may only act for the participant you are signed in as', fields: [{ field: '/participant', message: 'is not the signed-in participant' }] });
    }
  }

  private publish(market: string, r: { orders: OrderRecord[]; trades: TradeRecord[]; slots: import('../store/index.ts').SlotRecord[] }): void {
    const change = { market, orders: r.orders, trades: r.trades, slots: r.slots };
    for (const l of this.listeners) l(change);
  }

  submit(input: unknown, actor: OrderActor, source: OrderRecord['source'] = actor.kind === 'rule' ? 'rule' : 'manual'): Promise<OrderOutcome> {
    return this.timed('submit', () => this.submitNow(input, actor, source));
  }

  private async submitNow(input: unknown, actor: OrderActor, source: OrderRecord['source']): Promise<OrderOutcome> {
    const checked = validate<OrderSubmission>('OrderSubmission', input);
    if (!checked.ok) throw new OrderError(400, checked.error);
    const sub = checked.value;
    const participant = lower(sub.participant);
    this.authorise(actor, participant);
    const rt = this.runtime(sub.market);
    const now = this.clock.now();
    const { signature, ...fields } = sub;
    const signer = await this.checkSigner(fields, signature, now);
    if (sub.expiry <= now) throw rejection('expired', 'the order\'s signature has expired', '/expiry', 400);
    if (sub.side === 'bid') await this.prepareBid(participant);
    const pendingNonces = this.usedNonces(rt, participant);
    const used = pendingNonces instanceof Set ? pendingNonces : await pendingNonces;
    if (used.has(sub.nonce)) throw nonceConflict(sub.nonce);
    const id = orderIdOf(participant, sub.nonce);
    const { result, committed } = await rt.pipelined(() => {
      if (used.has(sub.nonce)) throw nonceConflict(sub.nonce);
      const applied = rt.apply(
        { type: 'submit', id, participant, slot: sub.slot, side: sub.side, price: BigInt(sub.price), quantityWh: sub.quantityWh, tif: sub.timeInForce, time: this.clock.now() },
        { nonce: sub.nonce, expiry: sub.expiry, signature: sub.signature, signer, source, timeInForce: sub.timeInForce },
        sub.slot,
      );
      if (applied.result.rejected) throw rejection(applied.result.rejected.reason);
      used.add(sub.nonce);
      return applied;
    });
    await this.durable(committed, used, sub.nonce);
    this.publish(sub.market, result);
    const order = result.orders.find((o) => o.id === id) as OrderRecord;
    return { order, trades: result.trades };
  }

  /** Waits for the group commit holding a command; a failed commit frees the nonce again (nothing of it is durable). */
  private async durable(committed: Promise<void>, used: Set<number> | null, nonce: number): Promise<void> {
    try {
      await committed;
    } catch (err) {
      used?.delete(nonce);
      throw err;
    }
  }

  amend(orderId: string, input: unknown, actor: OrderActor): Promise<OrderOutcome> {
    return this.timed('amend', () => this.amendNow(orderId, input, actor));
  }

  private async amendNow(orderId: string, input: unknown, actor: OrderActor): Promise<OrderOutcome> {
    const checked = validate<OrderAmend>('OrderAmend', input);
    if (!checked.ok) throw new OrderError(400, checked.error);
    const body = checked.value;
    const { rt, order } = await this.findOpen(orderId, actor);
    const now = this.clock.now();
    const fields: SignedOrderFields = {
      participant: order.participant, market: order.market, slot: order.slot, side: order.side, price: body.price ?? order.price,
      quantityWh: body.quantityWh ?? order.remainingWh, timeInForce: order.timeInForce, nonce: body.nonce, expiry: body.expiry,
    };
    const signer = await this.checkSigner(fields, body.signature, now);
    if (body.expiry <= now) throw rejection('expired', 'the order\'s signature has expired', '/expiry', 400);
    if (order.side === 'bid') await this.prepareBid(order.participant);
    const pendingNonces = this.usedNonces(rt, lower(order.participant));
    const used = pendingNonces instanceof Set ? pendingNonces : await pendingNonces;
    if (used.has(body.nonce)) throw nonceConflict(body.nonce);
    const { result, committed } = await rt.pipelined(() => {
      if (used.has(body.nonce)) throw nonceConflict(body.nonce);
      const command = {
        type: 'amend' as const, id: orderId, time: this.clock.now(),
        ...(body.price !== undefined ? { price: BigInt(body.price) } : {}),
        ...(body.quantityWh !== undefined ? { quantityWh: body.quantityWh } : {}),
      };
      const applied = rt.apply(command, { nonce: body.nonce, expiry: body.expiry, signature: body.signature, signer, source: order.source, timeInForce: order.timeInForce }, order.slot);
      if (applied.result.rejected) throw rejection(applied.result.rejected.reason);
      used.add(body.nonce);
      return applied;
    });
    await this.durable(committed, used, body.nonce);
    this.publish(order.market, result);
    return { order: result.orders.find((o) => o.id === orderId) ?? order, trades: result.trades };
  }

  cancel(orderId: string, actor: OrderActor): Promise<{ order: OrderRecord }> {
    return this.timed('cancel', () => this.cancelNow(orderId, actor));
  }

  private async cancelNow(orderId: string, actor: OrderActor): Promise<{ order: OrderRecord }> {
    const { rt, order } = await this.findOpen(orderId, actor);
    const { result, committed } = await rt.pipelined(() => {
      const applied = rt.apply({ type: 'cancel', id: orderId, time: this.clock.now() }, null, order.slot);
      if (applied.result.rejected) throw rejection(applied.result.rejected.reason);
      return applied;
    });
    await this.durable(committed, null, 0);
    this.publish(order.market, result);
    return { order: result.orders.find((o) => o.id === orderId) ?? order };
  }

  /** An order to change: 404 if unknown, 403 if someone else's, 409 if no longer open. */
  private async findOpen(orderId: string, actor: OrderActor): Promise<{ rt: MarketRuntime; order: OrderRecord }> {
    if (typeof orderId !== 'string' || orderId.length === 0 || orderId.length > 80) throw rejection('invalid_id', 'order id is invalid', '/orderId', 400);
    for (const rt of this.markets.values()) {
      const open = rt.openOrder(orderId);
      if (open) {
        if (actor.kind === 'session' && lower(actor.address) !== open.participant) throw new OrderError(403, { code: ErrorCode.FORBIDDEN, message: 'this order belongs to another participant' });
        // The rule engine manages only the orders it placed itself.
        if (actor.kind === 'rule' && open.source !== 'rule') throw new OrderError(403, { code: ErrorCode.FORBIDDEN, message: 'trade rules may change only rule orders' });
        return { rt, order: open };
      }
    }
    const stored = await firstStore(this.markets)?.market.order(orderId);
    if (!stored) throw new OrderError(404, { code: ErrorCode.NOT_FOUND, message: `no order ${orderId}` });
    if (actor.kind === 'session' && lower(actor.address) !== stored.participant) throw new OrderError(403, { code: ErrorCode.FORBIDDEN, message: 'this order belongs to another participant' });
    throw rejection('unknown_order', `the order is ${stored.status}, no longer open`);
  }
}

function firstStore(markets: ReadonlyMap<string, MarketRuntime>) {
  for (const rt of markets.values()) return rt.storeRef;
  return undefined;
}

const nonceConflict = (nonce: number) =>
  new OrderError(409, { code: ErrorCode.CONFLICT, message: `nonce ${nonce} was already used`, fields: [{ field: '/nonce', message: 'was already used' }] });
