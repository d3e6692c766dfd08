// Signs meter readings (EIP-712 MeterReading) and bridge challenges with the device key.
import { type Wallet } from 'ethers';
import {
  MeterReadingHasher,
  BridgeChallengeTypes,
  gridmeshDomain,
  type Address,
  type Hex,
  type MeterReading,
  type SignedMeterReading,
} from '@gridmesh/contracts-abi';

export class ReadingSigner {
  private readonly hasher: MeterReadingHasher;
  readonly meter: Address;

  constructor(private readonly wallet: Wallet, readonly chainId: number) {
    this.hasher = new MeterReadingHasher(chainId);
    this.meter = wallet.address as Address;
  }

  /** One fixed-layout keccak for the digest, then secp256k1; equal to ethers `signTypedData` (tested). */
  sign(reading: MeterReading): Hex {
    return this.wallet.signingKey.sign(this.hasher.digest(reading)).serialized as Hex;
  }

  signReading(reading: MeterReading): SignedMeterReading {
    return { ...reading, signature: this.sign(reading) };
  }

  /** Answers the server's `/bridge` challenge: EIP-712 `BridgeChallenge{meter, challenge}`. */
  signChallenge(challenge: Hex): Promise<Hex> {
    return this.wallet.signTypedData(gridmeshDomain(this.chainId), BridgeChallengeTypes, { meter: this.meter, challenge }) as Promise<Hex>;
  }
}
