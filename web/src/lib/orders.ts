// Orders signed in the browser (EIP-712 `Order` from contracts-abi) and sent to the REST API: place, amend, cancel.
import { gridmeshDomain, OrderSideCode, OrderTypes, TimeInForceCode } from '@gridmesh/contracts-abi/eip712.ts';
import type { OrderSubmission } from '@gridmesh/contracts-abi/types.ts';
import type { Session } from '../session.ts';
import { api } from './api.ts';
import type { OrderInfo, Trade } from './wire.ts';

let lastNonce = 0;
/** Nonces are unique per participant forever: milliseconds since epoch, strictly increasing within this page. */
function freshNonce(): number {
  lastNonce = Math.max(Date.now(), lastNonce + 1);
  return lastNonce;
}

interface OrderTerms {
  market: string;
  slot: number;
  side: 'bid' | 'ask';
  price: bigint;
  quantityWh: number;
  timeInForce: 'gtc' | 'ioc';
  expiry: number;
}

async function sign(session: Session, t: OrderTerms, nonce: number): Promise<`0x${string}`> {
  return session.signer.signTypedData({ ...gridmeshDomain(session.chainId) }, OrderTypes, {
    participant: session.signer.address,
    market: t.market,
    slot: t.slot,
    side: OrderSideCode[t.side],
    price: t.price,
    quantityWh: t.quantityWh,
    timeInForce: TimeInForceCode[t.timeInForce],
    nonce,
    expiry: t.expiry,
  });
}

export interface OrderResult {
  order: OrderInfo;
  trades: Trade[];
}

export async function placeOrder(session: Session, t: OrderTerms): Promise<OrderResult> {
  const nonce = freshNonce();
  const body: OrderSubmission = {
    participant: session.signer.address,
    market: t.market,
    slot: t.slot,
    side: t.side,
    price: t.price.toString(),
    quantityWh: t.quantityWh,
    timeInForce: t.timeInForce,
    nonce,
    expiry: t.expiry,
    signature: await sign(session, t, nonce),
  };
  return api<OrderResult>('POST', '/orders', body);
}

/** Amend = a new signature over the order as amended, with a fresh nonce (server/API.md). */
export async function amendOrder(session: Session, order: OrderInfo, price: bigint, openQuantityWh: number, expiry: number): Promise<OrderResult> {
  const nonce = freshNonce();
  const terms: OrderTerms = { market: order.market, slot: order.slot, side: order.side, price, quantityWh: openQuantityWh, timeInForce: order.timeInForce, expiry };
  const signature = await sign(session, terms, nonce);
  return api<OrderResult>('PATCH', `/orders/${encodeURIComponent(order.id)}`, { price: price.toString(), quantityWh: openQuantityWh, nonce, expiry, signature });
}

export async function cancelOrder(orderId: string): Promise<{ order: OrderInfo }> {
  return api<{ order: OrderInfo }>('DELETE', `/orders/${encodeURIComponent(orderId)}`);
}
