// Fast EIP-712 `Order` digest (precomputed domain separator and type hash, noble keccak) and signer recovery with libsecp256k1.
import secp256k1 from 'secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { TypedDataEncoder } from 'ethers';
import { ORDER_TYPE, OrderSideCode, TimeInForceCode, gridmeshDomain, type Address, type OrderSubmission } from '@gridmesh/contracts-abi';
import { addressOfPublicKey } from '../ingest/reading-verifier.ts';

const SECP256K1_N_HALF = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const TYPE_HASH = keccak_256(new TextEncoder().encode(ORDER_TYPE));

/** The fields an `Order` signature covers (the wire submission minus its signature). */
export type SignedOrderFields = Omit<OrderSubmission, 'signature'>;

function word(value: bigint, out: Uint8Array, offset: number): void {
  let v = value;
  for (let i = 31; i >= 0; i--) { out[offset + i] = Number(v & 0xffn); v >>= 8n; }
}

export class OrderSigner {
  private readonly domainSeparator: Uint8Array;

  constructor(readonly chainId: number) {
    this.domainSeparator = Buffer.from(TypedDataEncoder.hashDomain(gridmeshDomain(chainId)).slice(2), 'hex');
  }

  /** keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(Order)). */
  digest(o: SignedOrderFields): Uint8Array {
    const enc = new Uint8Array(32 * 10);
    enc.set(TYPE_HASH, 0);
    word(BigInt(o.participant), enc, 32);
    enc.set(keccak_256(new TextEncoder().encode(o.market)), 64);
    word(BigInt(o.slot), enc, 96);
    word(BigInt(OrderSideCode[o.side]), enc, 128);
    word(BigInt(o.price), enc, 160);
    word(BigInt(o.quantityWh), enc, 192);
    word(BigInt(TimeInForceCode[o.timeInForce]), enc, 224);
    word(BigInt(o.nonce), enc, 256);
    word(BigInt(o.expiry), enc, 288);
    const structHash = keccak_256(enc);
    const msg = new Uint8Array(66);
    msg[0] = 0x19;
    msg[1] = 0x01;
    msg.set(this.domainSeparator, 2);
    msg.set(structHash, 34);
    return keccak_256(msg);
  }

  /** The signer's address (lower case), or null for a malformed or malleable signature. */
  recover(o: SignedOrderFields, signature: string): Address | null {
    const sig = Buffer.from(signature.replace(/^0x/, ''), 'hex');
    if (sig.length !== 65) return null;
    const rs = Uint8Array.from(sig.subarray(0, 64));
    if (BigInt('0x' + sig.subarray(32, 64).toString('hex')) > SECP256K1_N_HALF) return null;
    const v = sig[64] >= 27 ? sig[64] - 27 : sig[64];
    if (v !== 0 && v !== 1) return null;
    try {
      return addressOfPublicKey(secp256k1.ecdsaRecover(rs, v, this.digest(o), false)) as Address;
    } catch {
      return null;
    }
  }
}

/** The EIP-712 message a wallet signs for an order (side/timeInForce as their uint8 codes). */
export function orderTypedMessage(o: SignedOrderFields): Record<string, unknown> {
  return {
    participant: o.participant, market: o.market, slot: o.slot, side: OrderSideCode[o.side], price: BigInt(o.price), quantityWh: o.quantityWh,
    timeInForce: TimeInForceCode[o.timeInForce], nonce: o.nonce, expiry: o.expiry,
  };
}
