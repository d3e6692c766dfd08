// EIP-712 MeterReading digest with WASM keccak (hash-wasm): same bytes as MeterReadingHasher, ~10x faster per reading.
import { createKeccak, type IHasher } from 'hash-wasm';
import { METER_READING_TYPEHASH, domainSeparator, type MeterReading } from '@gridmesh/contracts-abi';

/** Writes a JS safe integer (two's complement when negative) big-endian into the 32-byte word at `offset`. */
function writeSafeInt(out: Uint8Array, offset: number, value: number): void {
  const negative = value < 0;
  out.fill(negative ? 0xff : 0, offset, offset + 24);
  let lo = value % 0x1_0000_0000;
  let hi = Math.floor(value / 0x1_0000_0000);
  if (lo < 0) lo += 0x1_0000_0000;
  if (hi < 0) hi += 0x1_0000_0000;
  out[offset + 24] = hi >>> 24; out[offset + 25] = (hi >>> 16) & 0xff; out[offset + 26] = (hi >>> 8) & 0xff; out[offset + 27] = hi & 0xff;
  out[offset + 28] = lo >>> 24; out[offset + 29] = (lo >>> 16) & 0xff; out[offset + 30] = (lo >>> 8) & 0xff; out[offset + 31] = lo & 0xff;
}

/** Digests of one chain's MeterReadings; reuses its buffers (synchronous, so safe within one thread). */
export class FastReadingDigest {
  private readonly struct = new Uint8Array(256);
  private readonly envelope = new Uint8Array(66);
  /** The meter whose address bytes are in `struct` now. */
  private meter = '';

  private constructor(private readonly keccak: IHasher, chainId: number) {
    this.struct.set(METER_READING_TYPEHASH, 0);
    this.envelope[0] = 0x19;
    this.envelope[1] = 0x01;
    this.envelope.set(domainSeparator(chainId), 2);
  }

  static async create(chainId: number): Promise<FastReadingDigest> {
    return new FastReadingDigest(await createKeccak(256), chainId);
  }

  /** keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(reading)); a fresh 32-byte array. */
  digest(r: MeterReading): Uint8Array {
    const s = this.struct;
    // Batches carry one meter: parse its hex only when it changes.
    if (r.meter !== this.meter) {
      s.fill(0, 32, 44);
      s.set(Buffer.from(r.meter.slice(2), 'hex'), 44);
      this.meter = r.meter;
    }
    writeSafeInt(s, 64, r.seq);
    writeSafeInt(s, 96, r.timestamp);
    writeSafeInt(s, 128, r.importWh);
    writeSafeInt(s, 160, r.exportWh);
    writeSafeInt(s, 192, r.powerW);
    writeSafeInt(s, 224, r.flags);
    const k = this.keccak;
    k.init();
    k.update(s);
    this.envelope.set(k.digest('binary'), 34);
    k.init();
    k.update(this.envelope);
    return k.digest('binary');
  }
}
