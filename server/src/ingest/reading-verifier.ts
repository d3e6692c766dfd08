// Verifies EIP-712 MeterReading signatures fast: precomputed digest layout + batched libsecp256k1 against the meter's known public key.
import { keccak_256 } from '@noble/hashes/sha3';
import { MeterReadingHasher, type MeterReading } from '@gridmesh/contracts-abi';
import { FastReadingDigest } from './fast-digest.ts';
import { RECOVER_IN, RECOVER_OUT, VERIFY_IN, readSignature, secp256k1Batch, type Secp256k1Batch } from '../crypto/secp256k1-batch.ts';

/** Ethereum address (lower case) of an uncompressed 65-byte public key. */
export function addressOfPublicKey(pub: Uint8Array): string {
  const hash = keccak_256(pub.subarray(1));
  return '0x' + Buffer.from(hash.subarray(12)).toString('hex');
}

export type VerifyOutcome = 'ok' | 'bad-signature' | 'wrong-signer';

export type ReadingDigestFn = (reading: MeterReading) => Uint8Array;

/**
 * Verifies readings of known meters. The first valid signature of a meter is checked by public-key recovery
 * against the meter address; its public key is then cached so later readings need only a verify.
 */
export class ReadingVerifier {
  private readonly publicKeys = new Map<string, Uint8Array>();
  private readonly digestFn: ReadingDigestFn;

  /** Without a digest function the portable @noble/hashes hasher is used; prefer `ReadingVerifier.fast()`. */
  constructor(chainId: number, digest?: ReadingDigestFn) {
    if (digest) this.digestFn = digest;
    else {
      const hasher = new MeterReadingHasher(chainId);
      this.digestFn = (r) => hasher.digest(r).slice();
    }
  }

  /** The verifier with the WASM keccak digest. */
  static async fast(chainId: number): Promise<ReadingVerifier> {
    const d = await FastReadingDigest.create(chainId);
    return new ReadingVerifier(chainId, (r) => d.digest(r));
  }

  digest(reading: MeterReading): Uint8Array {
    return this.digestFn(reading);
  }

  verify(reading: MeterReading, signature: string): VerifyOutcome {
    return this.verifyMany([{ reading, signature }])[0];
  }

  /**
   * Verifies a batch in two libsecp256k1 calls: readings of meters whose key is known are verified against it; the
   * others recover their signer, and a meter's key is kept once a reading recovered to the meter's address.
   */
  verifyMany(batch: readonly { reading: MeterReading; signature: string }[], backend: Secp256k1Batch = secp256k1Batch()): VerifyOutcome[] {
    const n = batch.length;
    const outcomes: VerifyOutcome[] = new Array(n).fill('bad-signature');
    const toVerify: number[] = [];
    const toRecover: number[] = [];
    const verifyIn = Buffer.allocUnsafe(n * VERIFY_IN);
    const recoverIn = Buffer.allocUnsafe(n * RECOVER_IN);
    for (let i = 0; i < n; i++) {
      const { reading, signature } = batch[i];
      const known = this.publicKeys.get(reading.meter.toLowerCase());
      const [buffer, at] = known ? [verifyIn, toVerify.length * VERIFY_IN] : [recoverIn, toRecover.length * RECOVER_IN];
      // Malformed, malleable (high s) or a bad v: refused as ethers and the EVM's ecrecover users do.
      if (!readSignature(signature, buffer, at + 32)) continue;
      buffer.set(this.digestFn(reading), at);
      if (known) {
        // A verify record carries the key where the recovery id was.
        buffer.set(known, at + 96);
        toVerify.push(i);
      } else toRecover.push(i);
    }
    const verified = Buffer.allocUnsafe(toVerify.length);
    backend.verifyBatch(verifyIn, toVerify.length, verified);
    toVerify.forEach((i, k) => { outcomes[i] = verified[k] === 1 ? 'ok' : 'wrong-signer'; });
    const recovered = Buffer.allocUnsafe(toRecover.length * RECOVER_OUT);
    backend.recoverBatch(recoverIn, toRecover.length, recovered);
    toRecover.forEach((i, k) => {
      const pub = recovered.subarray(k * RECOVER_OUT, (k + 1) * RECOVER_OUT);
      if (pub[0] !== 4) return;
      const meter = batch[i].reading.meter.toLowerCase();
      if (addressOfPublicKey(pub) !== meter) { outcomes[i] = 'wrong-signer'; return; }
      this.publicKeys.set(meter, Uint8Array.from(pub));
      outcomes[i] = 'ok';
    });
    return outcomes;
  }
}
