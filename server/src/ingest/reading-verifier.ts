// Verifies EIP-712 MeterReading signatures fast: precomputed digest layout + libsecp256k1 against the meter's known public key.
import secp256k1 from 'secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { MeterReadingHasher, type MeterReading } from '@gridmesh/contracts-abi';

const SECP256K1_N_HALF = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

function hexToBytes(hex: string): Uint8Array {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

/** Ethereum address (lower case) of an uncompressed 65-byte public key. */
export function addressOfPublicKey(pub: Uint8Array): string {
  const hash = keccak_256(pub.subarray(1));
  return '0x' + Buffer.from(hash.subarray(12)).toString('hex');
}

export type VerifyOutcome = 'ok' | 'bad-signature' | 'wrong-signer';

/**
 * Verifies readings of known meters. The first valid signature of a meter is checked by public-key recovery
 * against the registered address; its public key is then cached so later readings need only a verify.
 */
export class ReadingVerifier {
  private readonly hasher: MeterReadingHasher;
  private readonly publicKeys = new Map<string, Uint8Array>();

  constructor(chainId: number) {
    this.hasher = new MeterReadingHasher(chainId);
  }

  digest(reading: MeterReading): Uint8Array {
    return this.hasher.digest(reading);
  }

  verify(reading: MeterReading, signature: string): VerifyOutcome {
    const sig = hexToBytes(signature);
    if (sig.length !== 65) return 'bad-signature';
    const rs = sig.subarray(0, 64);
    // Reject malleable high-s signatures, as ethers and the EVM's ecrecover users do.
    if (BigInt('0x' + Buffer.from(rs.subarray(32)).toString('hex')) > SECP256K1_N_HALF) return 'bad-signature';
    const v = sig[64] >= 27 ? sig[64] - 27 : sig[64];
    if (v !== 0 && v !== 1) return 'bad-signature';
    const digest = this.digest(reading);
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
