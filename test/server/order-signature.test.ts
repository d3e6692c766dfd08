// The fast Order digest (WASM keccak, cached market hashes, no-BigInt words) equals ethers' EIP-712 hash, and recovery finds the signer.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TypedDataEncoder, Wallet } from 'ethers';
import { OrderTypes, gridmeshDomain, type Address } from '@gridmesh/contracts-abi';
import { OrderSigner, orderTypedMessage, type SignedOrderFields } from '../../server/src/orders/order-signature.ts';

const CHAIN = 31337;
const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');

const orderArb = fc.record({
  participant: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => hex(b) as Address),
  market: fc.constantFrom('demo', 'main', 'x', 'ñ-market', 'a'.repeat(140)),
  slot: fc.oneof(fc.nat(), fc.maxSafeNat()),
  side: fc.constantFrom('bid' as const, 'ask' as const),
  price: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map(String),
  quantityWh: fc.oneof(fc.nat(), fc.maxSafeNat()),
  timeInForce: fc.constantFrom('gtc' as const, 'ioc' as const),
  nonce: fc.oneof(fc.nat(), fc.maxSafeNat()),
  expiry: fc.oneof(fc.nat(), fc.maxSafeNat()),
});

describe('orders: fast EIP-712 Order digest', function () {
  it('equals ethers TypedDataEncoder.hash, with the portable and the WASM keccak', async () => {
    const signer = new OrderSigner(CHAIN);
    const reference = (o: SignedOrderFields) => TypedDataEncoder.hash(gridmeshDomain(CHAIN), OrderTypes, orderTypedMessage(o));
    const portable = new OrderSigner(CHAIN);
    fc.assert(fc.property(orderArb, (o) => { assert.equal(hex(portable.digest(o)), reference(o)); }), { numRuns: 100 });
    await signer.ready();
    fc.assert(fc.property(orderArb, (o) => { assert.equal(hex(signer.digest(o)), reference(o)); }), { numRuns: 300 });
  });

  it('recovers the signing wallet and refuses a tampered order', async () => {
    const signer = new OrderSigner(CHAIN);
    await signer.ready();
    const wallet = Wallet.createRandom();
    const o: SignedOrderFields = {
      participant: wallet.address.toLowerCase() as Address, market: 'demo', slot: 1_900_000_000_000, side: 'ask', price: '150000', quantityWh: 250,
      timeInForce: 'gtc', nonce: 7, expiry: 1_900_000_060_000,
    };
    const signature = await wallet.signTypedData(gridmeshDomain(CHAIN), OrderTypes, orderTypedMessage(o));
    assert.equal(signer.recover(o, signature), wallet.address.toLowerCase());
    assert.notEqual(signer.recover({ ...o, quantityWh: 251 }, signature), wallet.address.toLowerCase());
    assert.equal(signer.recover(o, '0x1234'), null);
  });
});
