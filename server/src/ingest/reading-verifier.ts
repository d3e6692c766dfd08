// Verifies EIP-712 MeterReading signatures fast: precomputed digest layout + libsecp256k1 against the meter's known public key.
import secp256k1 from 'secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { MeterReadingHasher, type MeterReading } from '@gridmesh/contracts-abi';
import { FastReadingDigest } from './fast-digest.ts';

/** secp256k1 n/2, big-endian: an s above it is the malleable twin of a valid signature (EIP-2). */
const N_HALF = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex');
const HEX = /^0x[0-9a-fA-F]{130}$/;

/** Ethereum address (lower case) of an uncompressed 65-byte public key. */
export function addressOfPublicKey(pub: Uint8Array): string {
  const hash = keccak_256(pub.subarray(1));
  return '0x' + Buffer.from(hash.subarray(12)).toString('hex');
}

export type VerifyOutcome = 'ok' | 'bad-signature' | 'wrong-signer';

/** True when the 32-byte big-endian s (at sig[32..64)) is above n/2. */
function highS(sig: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const a = sig[32 + i];
    const b = N_HALF[i];
    if (a !== b) return a > b;
  }
  return false;
}

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
    if (typeof signature !== 'string' || !HEX.test(signature)) return 'bad-signature';
    const sig = Buffer.from(signature.slice(2), 'hex');
    // Reject malleable high-s signatures, as ethers and the EVM's ecrecover users do.
    if (highS(sig)) return 'bad-signature';
    const v = sig[64] >= 27 ? sig[64] - 27 : sig[64];
    if (v !== 0 && v !== 1) return 'bad-signature';
    const rs = new Uint8Array(sig.buffer, sig.byteOffset, 64);
    const digest = this.digestFn(reading);
    const meter = reading.meter.toLowerCase();
    const known = this.publicKeys.get(meter);
    try {
      if (known) return secp256k1.ecdsaVerify(rs, digest, known) ? 'ok' : 'wrong-signer';
      const pub = secp256k1.ecdsaRecover(rs, v, digest, false);
      if (addressOfPublicKey(pub) !== meter) return 'wrong-signer';
      this.publicKeys.set(meter, pub);
      return 'ok';
    } catch {
      return 'bad-signature';
    }
  }
}
