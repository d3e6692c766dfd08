// Batched secp256k1 recovery and verification: the libsecp256k1 addon and the npm-package fallback both agree with ethers, record by record.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SigningKey, Wallet, getBytes, recoverAddress, computeAddress } from 'ethers';
import {
  RECOVER_IN, RECOVER_OUT, VERIFY_IN, portableSecp256k1Batch, secp256k1Batch, type Secp256k1Batch,
} from '../../server/src/crypto/secp256k1-batch.ts';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const word = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

interface Case { digest: Buffer; rs: Buffer; recid: number; key: SigningKey; address: string }

/** A signature by a random key, then maybe damaged: another digest, a flipped recovery id, the high-s twin, a zero r. */
const caseArb = fc.record({
  secret: fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => { const k = BigInt('0x' + Buffer.from(b).toString('hex')); return k > 0n && k < N; }),
  digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  damage: fc.constantFrom('none', 'none', 'digest', 'recid', 'high-s', 'zero-r'),
}).map(({ secret, digest, damage }): Case => {
  const key = new SigningKey(Buffer.from(secret));
  const sig = key.sign(digest);
  let r = BigInt(sig.r);
  let s = BigInt(sig.s);
  let recid = sig.yParity;
  let signed = Buffer.from(digest);
  if (damage === 'digest') signed = Buffer.from(signed.map((b, i) => (i === 0 ? b ^ 1 : b)));
  if (damage === 'recid') recid ^= 1;
  if (damage === 'high-s') { s = N - s; recid ^= 1; }
  if (damage === 'zero-r') r = 0n;
  return { digest: signed, rs: Buffer.concat([word(r), word(s)]), recid, key, address: computeAddress(key.publicKey) };
});

/** What ethers recovers (its address), or null where ethers refuses the signature. */
function ethersSigner(c: Case): string | null {
  try {
    return recoverAddress(c.digest, { r: '0x' + c.rs.subarray(0, 32).toString('hex'), s: '0x' + c.rs.subarray(32).toString('hex'), v: 27 + c.recid });
  } catch {
    return null;
  }
}

function checkAgainstEthers(backend: Secp256k1Batch, cases: Case[]): void {
  const input = Buffer.alloc(cases.length * RECOVER_IN);
  const verifyInput = Buffer.alloc(cases.length * VERIFY_IN);
  cases.forEach((c, i) => {
    c.digest.copy(input, i * RECOVER_IN);
    c.rs.copy(input, i * RECOVER_IN + 32);
    input[i * RECOVER_IN + 96] = c.recid;
    c.digest.copy(verifyInput, i * VERIFY_IN);
    c.rs.copy(verifyInput, i * VERIFY_IN + 32);
    Buffer.from(getBytes(c.key.publicKey)).copy(verifyInput, i * VERIFY_IN + 96);
  });
  const recovered = Buffer.alloc(cases.length * RECOVER_OUT);
  const verified = Buffer.alloc(cases.length);
  backend.recoverBatch(input, cases.length, recovered);
  backend.verifyBatch(verifyInput, cases.length, verified);
  cases.forEach((c, i) => {
    const pub = recovered.subarray(i * RECOVER_OUT, (i + 1) * RECOVER_OUT);
    const expected = ethersSigner(c);
    // ethers refuses high-s; libsecp256k1's recovery accepts it (the order and reading checks refuse it before), so
    // compare recovery only where ethers answers.
    if (expected !== null) assert.equal(computeAddress('0x' + pub.toString('hex')), expected, `record ${i}: recovered key`);
    else if (BigInt('0x' + c.rs.subarray(0, 32).toString('hex')) === 0n) assert.equal(pub[0], 0, `record ${i}: r = 0 recovers nothing`);
    // Verification ignores the recovery id and, like EIP-2, accepts only the lower s.
    const lowS = BigInt('0x' + c.rs.subarray(32).toString('hex')) <= N / 2n;
    const signsDigest = [c.recid, c.recid ^ 1].some((recid) => ethersSigner({ ...c, recid }) === c.address);
    assert.equal(verified[i] === 1, lowS && signsDigest, `record ${i}: verify`);
  });
}

describe('secp256k1: batched recovery and verification', function () {
  const native = secp256k1Batch();

  it(`the backend in use (${native.backend}) agrees with ethers on valid and damaged signatures`, () => {
    if (process.env.GRIDMESH_EXPECT_NATIVE === '1') assert.equal(native.backend, 'libsecp256k1', 'the libsecp256k1 addon was expected to be built (npm run build:native -w server)');
    fc.assert(fc.property(fc.array(caseArb, { minLength: 1, maxLength: 20 }), (cases) => checkAgainstEthers(native, cases)), { numRuns: 60 });
  });

  it('the npm-package fallback agrees with ethers too', () => {
    fc.assert(fc.property(fc.array(caseArb, { minLength: 1, maxLength: 20 }), (cases) => checkAgainstEthers(portableSecp256k1Batch, cases)), { numRuns: 30 });
  });

  it('both refuse buffers shorter than the count of records, and a batch of none is fine', () => {
    for (const backend of [native, portableSecp256k1Batch]) {
      assert.throws(() => backend.recoverBatch(Buffer.alloc(RECOVER_IN), 2, Buffer.alloc(2 * RECOVER_OUT)), RangeError);
      assert.throws(() => backend.verifyBatch(Buffer.alloc(2 * VERIFY_IN), 2, Buffer.alloc(1)), RangeError);
      backend.recoverBatch(Buffer.alloc(0), 0, Buffer.alloc(0));
    }
  });

  it('recovers a wallet signature of an order digest to the wallet', () => {
    const wallet = Wallet.createRandom();
    const digest = Buffer.alloc(32, 7);
    const sig = wallet.signingKey.sign(digest);
    const input = Buffer.concat([digest, Buffer.from(getBytes(sig.r)), Buffer.from(getBytes(sig.s)), Buffer.from([sig.yParity])]);
    const out = Buffer.alloc(RECOVER_OUT);
    native.recoverBatch(input, 1, out);
    assert.equal(computeAddress('0x' + out.toString('hex')), wallet.address);
  });
});
