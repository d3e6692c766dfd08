// Fast EIP-712 `Order` digest (precomputed domain separator, type hash and market-name hashes; WASM keccak once loaded) and batched signer recovery with libsecp256k1.
import { keccak_256 } from '@noble/hashes/sha3';
import { createKeccak, type IHasher } from 'hash-wasm';
import { TypedDataEncoder } from 'ethers';
import { ORDER_TYPE, OrderSideCode, TimeInForceCode, gridmeshDomain, type Address, type OrderSubmission } from '@gridmesh/contracts-abi';
import { RECOVER_IN, RECOVER_OUT, readSignature, secp256k1Batch, type Secp256k1Batch } from '../crypto/secp256k1-batch.ts';
const TYPE_HASH = keccak_256(new TextEncoder().encode(ORDER_TYPE));

/** The fields an `Order` signature covers (the wire submission minus its signature). */
export type SignedOrderFields = Omit<OrderSubmission, 'signature'>;

function word(value: bigint, out: Uint8Array, offset: number): void {
  let v = value;
  for (let i = 31; i >= 0; i--) { out[offset + i] = Number(v & 0xffn); v >>= 8n; }
}

/** Writes a non-negative JS safe integer big-endian into the 32-byte word at `offset` (no BigInt on the hot path). */
function writeUint(out: Uint8Array, offset: number, value: number): void {
  out.fill(0, offset, offset + 24);
  const lo = value % 0x1_0000_0000;
  const hi = Math.floor(value / 0x1_0000_0000);
  out[offset + 24] = hi >>> 24; out[offset + 25] = (hi >>> 16) & 0xff; out[offset + 26] = (hi >>> 8) & 0xff; out[offset + 27] = hi & 0xff;
  out[offset + 28] = lo >>> 24; out[offset + 29] = (lo >>> 16) & 0xff; out[offset + 30] = (lo >>> 8) & 0xff; out[offset + 31] = lo & 0xff;
}

const safeUint = (n: number) => Number.isSafeInteger(n) && n >= 0;

export class OrderSigner {
  private readonly domainSeparator: Uint8Array;
  /** keccak256 of market names already seen (a handful of markets; bounded so odd input cannot grow it). */
  private readonly marketHashes = new Map<string, Uint8Array>();
  /** WASM keccak (≈10× @noble per call) once loaded; until then, and as the reference, @noble/hashes. */
  private wasm: IHasher | null = null;
  private readonly struct = new Uint8Array(32 * 10);
  private readonly envelope = new Uint8Array(66);

  constructor(readonly chainId: number) {
    this.domainSeparator = Buffer.from(TypedDataEncoder.hashDomain(gridmeshDomain(chainId)).slice(2), 'hex');
    this.struct.set(TYPE_HASH, 0);
    this.envelope[0] = 0x19;
    this.envelope[1] = 0x01;
    this.envelope.set(this.domainSeparator, 2);
    createKeccak(256).then((k) => { this.wasm = k; }, () => undefined);
  }

  /** Resolves once the WASM hasher is in use (tests and benchmarks; correctness never depends on it). */
  async ready(): Promise<void> {
    if (!this.wasm) this.wasm = await createKeccak(256);
  }

  private keccak(bytes: Uint8Array): Uint8Array {
    const k = this.wasm;
    if (!k) return keccak_256(bytes);
    k.init();
    k.update(bytes);
    return k.digest('binary');
  }

  private marketHash(market: string): Uint8Array {
    let h = this.marketHashes.get(market);
    if (!h) {
      h = this.keccak(new TextEncoder().encode(market));
      if (this.marketHashes.size < 256) this.marketHashes.set(market, h);
    }
    return h;
  }

  /** keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(Order)). */
  digest(o: SignedOrderFields): Uint8Array {
    const enc = this.struct;
    const participant = o.participant.startsWith('0x') ? o.participant.slice(2) : o.participant;
    if (participant.length === 40 && /^[0-9a-fA-F]{40}$/.test(participant)) {
      enc.fill(0, 32, 44);
      enc.set(Buffer.from(participant, 'hex'), 44);
    } else word(BigInt(o.participant), enc, 32);
    enc.set(this.marketHash(o.market), 64);
    for (const [offset, value] of [[96, o.slot], [192, o.quantityWh], [256, o.nonce], [288, o.expiry]] as const) {
      if (safeUint(value)) writeUint(enc, offset, value);
      else word(BigInt(value), enc, offset);
    }
    writeUint(enc, 128, OrderSideCode[o.side]);
    word(BigInt(o.price), enc, 160);
    writeUint(enc, 224, TimeInForceCode[o.timeInForce]);
    this.envelope.set(this.keccak(enc), 34);
    return this.keccak(this.envelope);
  }

  /** The signer's address (lower case), or null for a malformed or malleable signature. */
  recover(o: SignedOrderFields, signature: string): Address | null {
    return this.recoverMany([{ fields: o, signature }])[0];
  }

  /**
   * The signer of each order (lower case), or null for a malformed or malleable signature: every digest and signature goes
   * into one buffer and through one libsecp256k1 call (`backend`, the system library when its addon was built).
   */
  recoverMany(orders: readonly { fields: SignedOrderFields; signature: string }[], backend: Secp256k1Batch = secp256k1Batch()): (Address | null)[] {
    const count = orders.length;
    const input = Buffer.allocUnsafe(count * RECOVER_IN);
    const valid: boolean[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const at = i * RECOVER_IN;
      valid[i] = readSignature(orders[i].signature, input, at + 32);
      if (valid[i]) input.set(this.digest(orders[i].fields), at);
      else input.fill(0, at, at + RECOVER_IN);
    }
    const output = Buffer.allocUnsafe(count * RECOVER_OUT);
    backend.recoverBatch(input, count, output);
    const signers: (Address | null)[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const at = i * RECOVER_OUT;
      signers[i] = valid[i] && output[at] === 4 ? ('0x' + Buffer.from(this.keccak(output.subarray(at + 1, at + RECOVER_OUT)).subarray(12)).toString('hex')) as Address : null;
    }
    return signers;
  }
}

/** The EIP-712 message a wallet signs for an order (side/timeInForce as their uint8 codes). */
export function orderTypedMessage(o: SignedOrderFields): Record<string, unknown> {
  return {
    participant: o.participant, market: o.market, slot: o.slot, side: OrderSideCode[o.side], price: BigInt(o.price), quantityWh: o.quantityWh,
    timeInForce: TimeInForceCode[o.timeInForce], nonce: o.nonce, expiry: o.expiry,
  };
}
