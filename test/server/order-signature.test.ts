// The fast Order digest (WASM keccak, cached market hashes, no-BigInt words) equals ethers' EIP-712 hash, and recovery finds the signer.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TypedDataEncoder, Wallet, verifyTypedData } from 'ethers';
import { OrderTypes, gridmeshDomain, type Address } from '@gridmesh/contracts-abi';
import { OrderSigner, orderTypedMessage, type SignedOrderFields } from '../../server/src/orders/order-signature.ts';
import { portableSecp256k1Batch, secp256k1Batch } from '../../server/src/crypto/secp256k1-batch.ts';

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

  it('recovers a whole batch in one call, with either libsecp256k1 backend, as ethers verifyTypedData does', async () => {
    const signer = new OrderSigner(CHAIN);
    await signer.ready();
    const wallets = [Wallet.createRandom(), Wallet.createRandom()];
    const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const batch: { fields: SignedOrderFields; signature: string }[] = [];
    for (const [i, tamper] of ['none', 'field', 'high-s', 'v=29', 'short', 'no-0x', 'not-hex', 'flipped-v', 'none'].entries()) {
      const wallet = wallets[i % 2];
      const fields: SignedOrderFields = {
        participant: wallet.address.toLowerCase() as Address, market: 'demo', slot: 1_900_000_000_000 + i, side: i % 2 ? 'bid' : 'ask',
        price: String(100_000 + i), quantityWh: 100 + i, timeInForce: 'gtc', nonce: i, expiry: 1_900_000_060_000,
      };
      let signature = await wallet.signTypedData(gridmeshDomain(CHAIN), OrderTypes, orderTypedMessage(fields));
      const v = signature.slice(130);
      if (tamper === 'field') fields.quantityWh += 1;
      if (tamper === 'high-s') signature = signature.slice(0, 66) + (N - BigInt('0x' + signature.slice(66, 130))).toString(16).padStart(64, '0') + (v === '1b' ? '1c' : '1b');
      if (tamper === 'v=29') signature = signature.slice(0, 130) + '1d';
      if (tamper === 'short') signature = signature.slice(0, 128);
      if (tamper === 'no-0x') signature = '00' + signature.slice(2);
      if (tamper === 'not-hex') signature = signature.slice(0, 10) + 'zz' + signature.slice(12);
      if (tamper === 'flipped-v') signature = signature.slice(0, 130) + (v === '1b' ? '1c' : '1b');
      batch.push({ fields, signature });
    }
    const ethersSays = batch.map(({ fields, signature }) => {
      try {
        return verifyTypedData(gridmeshDomain(CHAIN), OrderTypes, orderTypedMessage(fields), signature).toLowerCase();
      } catch {
        return null;
      }
    });
    for (const backend of [secp256k1Batch(), portableSecp256k1Batch]) {
      const signers = signer.recoverMany(batch, backend);
      batch.forEach((b, i) => {
        // A signer only where ethers finds the same one; what ethers refuses (high s, bad v, malformed) recovers to nobody.
        assert.equal(signers[i], ethersSays[i], `${backend.backend} order ${i}`);
      });
      assert.equal(signers[0], wallets[0].address.toLowerCase());
      assert.notEqual(signers[1], batch[1].fields.participant);
    }
  });
});
