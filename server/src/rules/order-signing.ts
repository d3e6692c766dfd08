// Signs rule orders with a delegated session key: EIP-712 `Order` bodies ready for the order service (submit and amend).
import { SigningKey, TypedDataEncoder, computeAddress } from 'ethers';
import {
  OrderSideCode, OrderTypes, TimeInForceCode, gridmeshDomain,
  type Address, type Hex, type OrderAmend, type OrderSide, type OrderSubmission, type TimeInForce,
} from '@gridmesh/contracts-abi';

/** The fields an `Order` signature covers. */
export type OrderFields = Omit<OrderSubmission, 'signature'>;

export class DelegateOrderSigner {
  private readonly key: SigningKey;
  readonly address: Address;
  private lastNonce = 0;

  constructor(privateKey: string, private readonly chainId: number) {
    this.key = new SigningKey(privateKey);
    this.address = computeAddress(this.key.publicKey).toLowerCase() as Address;
  }

  /**
   * A fresh order nonce: microsecond-scaled wall time, strictly increasing within the process, so nonces stay unique
   * across restarts without storing a counter (now·1000 < 2^53 until the year 2255).
   */
  nextNonce(now: number): number {
    this.lastNonce = Math.max(this.lastNonce + 1, Math.floor(now) * 1000);
    return this.lastNonce;
  }

  sign(fields: OrderFields): Hex {
    const message = {
      participant: fields.participant, market: fields.market, slot: fields.slot, side: OrderSideCode[fields.side], price: BigInt(fields.price),
      quantityWh: fields.quantityWh, timeInForce: TimeInForceCode[fields.timeInForce], nonce: fields.nonce, expiry: fields.expiry,
    };
    const digest = TypedDataEncoder.hash(gridmeshDomain(this.chainId), OrderTypes, message);
    return this.key.sign(digest).serialized as Hex;
  }

  /** A complete OrderSubmission for POST /api/orders / OrderService.submit, signed by the delegate. */
  submission(order: { participant: Address; market: string; slot: number; side: OrderSide; price: bigint; quantityWh: number; expiry: number; timeInForce?: TimeInForce }, now: number): OrderSubmission {
    const fields: OrderFields = {
      participant: order.participant, market: order.market, slot: order.slot, side: order.side, price: order.price.toString(), quantityWh: order.quantityWh,
      timeInForce: order.timeInForce ?? 'gtc', nonce: this.nextNonce(now), expiry: order.expiry,
    };
    return { ...fields, signature: this.sign(fields) };
  }

  /**
   * An OrderAmend body for OrderService.amend: the signature covers the order as it will be (price and open quantity
   * after the change), the way the order service rebuilds it.
   */
  amendment(
    order: { participant: Address; market: string; slot: number; side: OrderSide; price: bigint; remainingWh: number; timeInForce?: TimeInForce },
    change: { price?: bigint; quantityWh?: number },
    expiry: number,
    now: number,
  ): OrderAmend {
    const nonce = this.nextNonce(now);
    const fields: OrderFields = {
      participant: order.participant, market: order.market, slot: order.slot, side: order.side, price: (change.price ?? order.price).toString(),
      quantityWh: change.quantityWh ?? order.remainingWh, timeInForce: order.timeInForce ?? 'gtc', nonce, expiry,
    };
    return {
      ...(change.price !== undefined ? { price: change.price.toString() } : {}),
      ...(change.quantityWh !== undefined ? { quantityWh: change.quantityWh } : {}),
      nonce, expiry, signature: this.sign(fields),
    };
  }
}
