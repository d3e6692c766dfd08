// Batched secp256k1 recovery and verification: the system libsecp256k1 through our small addon when it was built, else the secp256k1 npm package.
import { createRequire } from 'node:module';
import secp256k1 from 'secp256k1';

/** Bytes per recover record: digest 32 ‖ r 32 ‖ s 32 ‖ recovery id 1. */
export const RECOVER_IN = 97;
/** Bytes per recover answer: the uncompressed public key (0x04 ‖ x ‖ y), or 65 zero bytes when recovery failed. */
export const RECOVER_OUT = 65;
/** Bytes per verify record: digest 32 ‖ r 32 ‖ s 32 ‖ uncompressed public key 65. Answer: 1 byte, 1 = valid. */
export const VERIFY_IN = 161;

export interface Secp256k1Batch {
  /** Which library does the work: `libsecp256k1` (system library, server/native) or `secp256k1-npm` (its bundled 2019 copy). */
  readonly backend: 'libsecp256k1' | 'secp256k1-npm';
  /** Recovers `count` records of `input` into `output` (RECOVER_OUT bytes each). */
  recoverBatch(input: Uint8Array, count: number, output: Uint8Array): void;
  /** Verifies `count` records of `input`; `output[i]` becomes 1 when record i is a valid lower-s signature of its digest by its key. */
  verifyBatch(input: Uint8Array, count: number, output: Uint8Array): void;
}

/** secp256k1 n/2, big-endian: an s above it is the malleable twin of a valid signature (EIP-2). */
const N_HALF = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex');

/** True when the 32-byte big-endian s of a signature (bytes 32..64 of r ‖ s) is above n/2. */
function highS(rs: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const a = rs[32 + i];
    const b = N_HALF[i];
    if (a !== b) return a > b;
  }
  return false;
}

/**
 * Writes a 0x-prefixed 65-byte signature (r ‖ s ‖ v) into `record` at `at`, v as the recovery id 0 or 1; false when it is
 * malformed, has the malleable high s (EIP-2) or a v other than 0, 1, 27 or 28 — what ethers refuses.
 */
export function readSignature(signature: string, record: Buffer, at: number): boolean {
  if (typeof signature !== 'string' || signature.length !== 132 || !signature.startsWith('0x')) return false;
  // Buffer's hex decoding stops at the first character that is not hex.
  if (record.write(signature.slice(2), at, 65, 'hex') !== 65) return false;
  if (highS(record.subarray(at, at + 64))) return false;
  const v = record[at + 64] >= 27 ? record[at + 64] - 27 : record[at + 64];
  if (v !== 0 && v !== 1) return false;
  record[at + 64] = v;
  return true;
}

type NativeBinding = Pick<Secp256k1Batch, 'recoverBatch' | 'verifyBatch'>;

/** The portable backend: one npm-package call per record. */
const npmBackend: Secp256k1Batch = {
  backend: 'secp256k1-npm',
  recoverBatch(input, count, output) {
    checkLengths(input, count, RECOVER_IN, output, RECOVER_OUT);
    for (let i = 0; i < count; i++) {
      const rec = input.subarray(i * RECOVER_IN, (i + 1) * RECOVER_IN);
      const out = output.subarray(i * RECOVER_OUT, (i + 1) * RECOVER_OUT);
      try {
        out.set(secp256k1.ecdsaRecover(rec.subarray(32, 96), rec[96], rec.subarray(0, 32), false));
      } catch {
        out.fill(0);
      }
    }
  },
  verifyBatch(input, count, output) {
    checkLengths(input, count, VERIFY_IN, output, 1);
    for (let i = 0; i < count; i++) {
      const rec = input.subarray(i * VERIFY_IN, (i + 1) * VERIFY_IN);
      let ok = false;
      try {
        ok = secp256k1.ecdsaVerify(rec.subarray(32, 96), rec.subarray(0, 32), rec.subarray(96, 161));
      } catch {
        ok = false;
      }
      output[i] = ok ? 1 : 0;
    }
  },
};

function checkLengths(input: Uint8Array, count: number, inWidth: number, output: Uint8Array, outWidth: number): void {
  if (!Number.isInteger(count) || count < 0) throw new TypeError('count must be a non-negative integer');
  if (input.length < count * inWidth || output.length < count * outWidth) throw new RangeError('input or output is shorter than count records');
}

/** Where `npm run build:native -w server` puts the addon. */
const ADDON = '../../native/secp256k1-batch/build/Release/secp256k1_batch.node';

let chosen: Secp256k1Batch | null = null;

/**
 * The backend in use: the addon when it was built and `GRIDMESH_NATIVE_SECP256K1` is not `0`, else the npm package.
 * libsecp256k1 0.2 (Debian 12) recovers ≈ 30 % faster than the npm package's copy (bench/results/ingest.md).
 */
export function secp256k1Batch(): Secp256k1Batch {
  if (chosen) return chosen;
  chosen = npmBackend;
  if (process.env.GRIDMESH_NATIVE_SECP256K1 !== '0') {
    try {
      const native = createRequire(import.meta.url)(ADDON) as NativeBinding;
      chosen = { backend: 'libsecp256k1', recoverBatch: native.recoverBatch, verifyBatch: native.verifyBatch };
    } catch {
      // not built (no libsecp256k1-dev on this machine): the npm package does the same work, slower
    }
  }
  return chosen;
}

/** The npm-package backend, whatever is installed (tests compare the two). */
export const portableSecp256k1Batch: Secp256k1Batch = npmBackend;
