// Optional native crypto for the signing hot path: libsecp256k1 (secp256k1) and native keccak (keccak) when their
// add-ons load; otherwise the pure-JS ethers/noble path. Both give byte-identical EIP-712 signatures (tested).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface NativeSecp {
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number };
}
interface KeccakStateCtor {
  new (): { initialize(rate: number, capacity: number): void; absorb(b: Uint8Array): void; absorbLastFewBits(bits: number): void; squeeze(n: number): Buffer };
}

function load<T>(fn: () => T): T | undefined {
  if (process.env.GRIDMESH_NO_NATIVE_CRYPTO) return undefined;
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** libsecp256k1 through the `secp256k1` add-on (RFC 6979 deterministic nonces, low-s, like ethers). */
export const nativeSecp: NativeSecp | undefined = load(() => {
  const m = require('secp256k1/bindings') as NativeSecp;
  return typeof m.ecdsaSign === 'function' ? m : undefined;
});

const KeccakState: KeccakStateCtor | undefined = load(() => {
  // The add-on's raw sponge, without the stream wrapper the package puts around it.
  const addon = (require('node-gyp-build') as (dir: string) => unknown)(require('node:path').dirname(require.resolve('keccak/bindings')));
  return typeof addon === 'function' ? (addon as KeccakStateCtor) : undefined;
});

/** keccak-256 with the native sponge, or undefined when the add-on is not available. */
export const nativeKeccak256: ((data: Uint8Array) => Uint8Array) | undefined = KeccakState
  ? (() => {
      const st = new KeccakState();
      return (data: Uint8Array) => {
        st.initialize(1088, 512);
        st.absorb(data);
        st.absorbLastFewBits(0x01);
        return st.squeeze(32);
      };
    })()
  : undefined;
