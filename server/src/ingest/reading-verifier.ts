// Verifies EIP-712 MeterReading signatures fast: precomputed digest layout + batched libsecp256k1 recovery compared with the meter's known public key.
import { keccak_256 } from '@noble/hashes/sha3';
import { MeterReadingHasher, type MeterReading } from '@gridmesh/contracts-abi';
import { FastReadingDigest } from './fast-digest.ts';
import { RECOVER_IN, RECOVER_OUT, readSignature, secp256k1Batch, type Secp256k1Batch } from '../crypto/secp256k1-batch.ts';

/** Ethereum address (lower case) of an uncompressed 65-byte public key. */
export function addressOfPublicKey(pub: Uint8Array): string {
  const hash = keccak_256(pub.subarray(1));
  return '0x' + Buffer.from(hash.subarray(12)).toString('hex');
}

export type VerifyOutcome = 'ok' | 'bad-signature' | 'wrong-signer';

export type ReadingDigestFn = (reading: MeterReading) => Uint8Array;

/**
 * Verifies readings of known meters by public-key recovery: the first valid signature of a meter is checked against the
 * meter address and its public key cached; later readings compare the recovered key with the cached one (no address
 * hash). Recovery, not a plain verify against the key, because a verify accepts a signature whose v was flipped
 * (27 ↔ 28), which ethers and `ecrecover` refuse: a stored reading must prove its meter to any standard tool. It costs
 * ≈ 15 % more than a verify (bench/results/ingest.md).
 */
export class ReadingVerifier {
  private readonly publicKeys = new Map<string, Buffer>();
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

  /** Verifies a batch in one libsecp256k1 call (recovery of every well-formed signature). */
  verifyMany(batch: readonly { reading: MeterReading; signature: string }[], backend: Secp256k1Batch = secp256k1Batch()): VerifyOutcome[] {
    const n = batch.length;
    const outcomes: VerifyOutcome[] = new Array(n).fill('bad-signature');
    const toRecover: number[] = [];
    const recoverIn = Buffer.allocUnsafe(n * RECOVER_IN);
    for (let i = 0; i < n; i++) {
      const { reading, signature } = batch[i];
      const at = toRecover.length * RECOVER_IN;
      // Malformed, malleable (high s) or a bad v: refused as ethers and the EVM's ecrecover users do.
      if (!readSignature(signature, recoverIn, at + 32)) continue;
      recoverIn.set(this.digestFn(reading), at);
      toRecover.push(i);
    }
    const recovered = Buffer.allocUnsafe(toRecover.length * RECOVER_OUT);
    backend.recoverBatch(recoverIn, toRecover.length, recovered);
    toRecover.forEach((i, k) => {
      const pub = recovered.subarray(k * RECOVER_OUT, (k + 1) * RECOVER_OUT);
      if (pub[0] !== 4) return;
      const meter = batch[i].reading.meter.toLowerCase();
      const known = this.publicKeys.get(meter);
      if (known) { outcomes[i] = pub.equals(known) ? 'ok' : 'wrong-signer'; return; }
      if (addressOfPublicKey(pub) !== meter) { outcomes[i] = 'wrong-signer'; return; }
      this.publicKeys.set(meter, Buffer.from(pub));
      outcomes[i] = 'ok';
    });
    return outcomes;
  }
}
