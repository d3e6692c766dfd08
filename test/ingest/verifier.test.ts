// The fast verification path (WASM keccak digest + libsecp256k1, inline and in the worker pool) agrees with ethers verifyTypedData.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Signature, SigningKey, Wallet, verifyTypedData } from 'ethers';
import { MeterReadingHasher, MeterReadingTypes, gridmeshDomain, type MeterReading, type SignedMeterReading } from '@gridmesh/contracts-abi';
import { FastReadingDigest } from '../../server/src/ingest/fast-digest.ts';
import { ReadingVerifier } from '../../server/src/ingest/reading-verifier.ts';
import { VerifyPool } from '../../server/src/ingest/verify-pool.ts';
import { portableSecp256k1Batch } from '../../server/src/crypto/secp256k1-batch.ts';

const CHAIN = 31337;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const keys = Array.from({ length: 4 }, (_, i) => new SigningKey('0x' + (i + 1).toString(16).padStart(64, '7')));
const addressOf = (k: SigningKey) => new Wallet(k.privateKey).address as `0x${string}`;
const hasher = new MeterReadingHasher(CHAIN);

const readingArb = (meter: `0x${string}`) => fc.record({
  meter: fc.constant(meter),
  seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  importWh: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  exportWh: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  powerW: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  flags: fc.nat({ max: 4294967295 }),
});

type Tamper = 'none' | 'other-key' | 'high-s' | 'field' | 'garbage-v' | 'flipped-v' | 'zero-r';
/** A signed reading, possibly tampered with, and what ethers says about it. */
const caseArb = fc.tuple(fc.nat({ max: keys.length - 1 }), fc.nat({ max: keys.length - 1 }), fc.constantFrom<Tamper>('none', 'none', 'other-key', 'high-s', 'field', 'garbage-v', 'flipped-v', 'zero-r'))
  .chain(([owner, other, tamper]) => readingArb(addressOf(keys[owner])).map((r) => {
    const signer = tamper === 'other-key' ? keys[(owner + 1 + other) % keys.length] : keys[owner];
    const sig = Signature.from(signer.sign(hasher.digest(r)));
    let signature = sig.serialized;
    if (tamper === 'high-s') {
      const s = N - BigInt(sig.s);
      signature = sig.r + s.toString(16).padStart(64, '0') + (sig.v === 27 ? '1c' : '1b');
    }
    if (tamper === 'garbage-v') signature = signature.slice(0, 130) + '05';
    // r and s still verify under the meter's key; only recovery (as ethers does) tells the other point.
    if (tamper === 'flipped-v') signature = signature.slice(0, 130) + (sig.v === 27 ? '1c' : '1b');
    if (tamper === 'zero-r') signature = '0x' + '0'.repeat(64) + signature.slice(66);
    const reading: MeterReading = tamper === 'field' ? { ...r, importWh: r.importWh === 0 ? 1 : r.importWh - 1 } : r;
    return { reading: { ...reading, signature } as SignedMeterReading, owner: addressOf(keys[owner]) };
  }));

function ethersSays(r: SignedMeterReading): boolean {
  try {
    const { signature, ...fields } = r;
    return verifyTypedData(gridmeshDomain(CHAIN), MeterReadingTypes, fields, signature).toLowerCase() === r.meter.toLowerCase();
  } catch {
    return false;
  }
}

describe('reading verification: fast path ≡ ethers', function () {
  this.timeout(120_000);
  let pool: VerifyPool;
  before(async () => {
    pool = new VerifyPool(CHAIN, 2);
    await pool.ready;
  });
  after(async () => {
    await pool.close();
  });

  it('a worker that dies fails only its pending batch; the pool replaces it and verifies on', async () => {
    const r = { meter: addressOf(keys[0]), seq: 1, timestamp: 2, importWh: 3, exportWh: 4, powerW: -5, flags: 0 };
    const signed = { ...r, signature: keys[0].sign(hasher.digest(r)).serialized as `0x${string}` };
    const workers = (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers;
    await Promise.all(workers.map((w) => w.worker.terminate()));
    await new Promise((done) => setTimeout(done, 50));
    assert.deepEqual(await pool.verify([signed, { ...signed, seq: 2 }]), ['ok', 'wrong-signer']);
  });

  it('the WASM digest equals the reference hasher and ethers TypedDataEncoder for any reading', async () => {
    const fast = await FastReadingDigest.create(CHAIN);
    const { TypedDataEncoder } = await import('ethers');
    fc.assert(fc.property(readingArb('0x' + 'ab'.repeat(20) as `0x${string}`), (r) => {
      const d = Buffer.from(fast.digest(r)).toString('hex');
      assert.equal(d, Buffer.from(hasher.digest(r)).toString('hex'));
      assert.equal('0x' + d, TypedDataEncoder.hash(gridmeshDomain(CHAIN), MeterReadingTypes, r));
    }), { numRuns: 300 });
  });

  it('accepts exactly what ethers accepts (random readings and keys; wrong key, high-s, altered field, bad v, flipped v, zero r), inline and in the pool', async () => {
    const inlineCold = await ReadingVerifier.fast(CHAIN);
    const inlineWarm = await ReadingVerifier.fast(CHAIN);
    // Warm: the meter's public key is already known (compared with the recovered key); cold: checked against the address.
    for (const k of keys) {
      const r = { meter: addressOf(k), seq: 0, timestamp: 0, importWh: 0, exportWh: 0, powerW: 0, flags: 0 };
      assert.equal(inlineWarm.verify(r, k.sign(hasher.digest(r)).serialized), 'ok');
    }
    await fc.assert(fc.asyncProperty(fc.array(caseArb, { minLength: 1, maxLength: 20 }), async (cases) => {
      const readings = cases.map((c) => c.reading);
      const pooled = await pool.verify(readings);
      // Whole batches too, with each libsecp256k1 backend: a cold verifier recovers, then verifies against the learnt key.
      const batch = readings.map((r) => ({ reading: r, signature: r.signature }));
      const batched = [inlineCold.verifyMany(batch), new ReadingVerifier(CHAIN).verifyMany(batch, portableSecp256k1Batch)];
      cases.forEach((c, i) => {
        const expected = ethersSays(c.reading);
        assert.equal(inlineWarm.verify(c.reading, c.reading.signature) === 'ok', expected, `warm ${JSON.stringify(c.reading)}`);
        assert.equal(new ReadingVerifier(CHAIN).verify(c.reading, c.reading.signature) === 'ok', expected, 'portable digest');
        assert.equal(inlineCold.verify(c.reading, c.reading.signature) === 'ok', expected, 'cold');
        assert.equal(pooled[i] === 'ok', expected, 'pool');
        for (const outcomes of batched) assert.equal(outcomes[i] === 'ok', expected, 'batch');
      });
    }), { numRuns: 150 });
  });
});
