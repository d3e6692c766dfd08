// Fast EIP-712 digest of a MeterReading: precomputed type hash and domain separator, one keccak over a fixed layout.
import { keccak_256 } from '@noble/hashes/sha3';
import { DOMAIN_NAME, DOMAIN_VERSION, METER_READING_TYPE } from './eip712.ts';
import type { MeterReading } from './types.ts';

const utf8 = new TextEncoder();
const DOMAIN_TYPE = 'EIP712Domain(string name,string version,uint256 chainId)';

function hexToBytes(hex: string, out: Uint8Array, offset: number): void {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  for (let i = 0; i < h.length / 2; i++) out[offset + i] = parseInt(h.substr(i * 2, 2), 16);
}

export function bytesToHex(bytes: Uint8Array): `0x${string}` {
  let s = '0x';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return s as `0x${string}`;
}

function writeUint(out: Uint8Array, wordOffset: number, value: bigint): void {
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[wordOffset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Writes a JS safe integer (possibly negative, two's complement) into a 32-byte word without bigint. */
function writeSafeInt(out: Uint8Array, wordOffset: number, value: number): void {
  const negative = value < 0;
  out.fill(negative ? 0xff : 0, wordOffset, wordOffset + 32);
  // Split into high/low 32-bit halves; works for |value| < 2^53.
  let lo = value % 0x1_0000_0000;
  let hi = Math.floor(value / 0x1_0000_0000);
  if (lo < 0) lo += 0x1_0000_0000;
  if (hi < 0) hi += 0x1_0000_0000;
  for (let i = 0; i < 4; i++) {
    out[wordOffset + 31 - i] = (lo >>> (8 * i)) & 0xff;
    out[wordOffset + 27 - i] = (hi >>> (8 * i)) & 0xff;
  }
}

export const METER_READING_TYPEHASH = keccak_256(utf8.encode(METER_READING_TYPE));

/** EIP-712 domain separator for {name, version, chainId}. */
export function domainSeparator(chainId: number): Uint8Array {
  const buf = new Uint8Array(128);
  buf.set(keccak_256(utf8.encode(DOMAIN_TYPE)), 0);
  buf.set(keccak_256(utf8.encode(DOMAIN_NAME)), 32);
  buf.set(keccak_256(utf8.encode(DOMAIN_VERSION)), 64);
  writeUint(buf, 96, BigInt(chainId));
  return keccak_256(buf);
}

/** A keccak-256 implementation: bytes in, a fresh 32-byte digest out. */
export type Keccak256 = (bytes: Uint8Array) => Uint8Array;

/**
 * Computes EIP-712 digests of MeterReadings for one chain; reuses its buffers (not reentrant across awaits).
 * The keccak is pluggable so a hot path can pass a faster one (the server uses WASM keccak); the layout stays here.
 */
export class MeterReadingHasher {
  private readonly struct = new Uint8Array(256);
  private readonly envelope = new Uint8Array(66);
  /** The meter whose address bytes are in `struct` now: a batch carries one meter, so its hex is parsed once. */
  private meter = '';

  constructor(readonly chainId: number, private readonly keccak: Keccak256 = keccak_256) {
    this.struct.set(METER_READING_TYPEHASH, 0);
    this.envelope[0] = 0x19;
    this.envelope[1] = 0x01;
    this.envelope.set(domainSeparator(chainId), 2);
  }

  /** keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(reading)); a fresh 32-byte array. */
  digest(r: MeterReading): Uint8Array {
    const s = this.struct;
    if (r.meter !== this.meter) {
      s.fill(0, 32, 64);
      hexToBytes(r.meter, s, 32 + 12);
      this.meter = r.meter;
    }
    writeSafeInt(s, 64, r.seq);
    writeSafeInt(s, 96, r.timestamp);
    writeSafeInt(s, 128, r.importWh);
    writeSafeInt(s, 160, r.exportWh);
    writeSafeInt(s, 192, r.powerW);
    writeSafeInt(s, 224, r.flags);
    this.envelope.set(this.keccak(s), 34);
    return this.keccak(this.envelope);
  }
}
