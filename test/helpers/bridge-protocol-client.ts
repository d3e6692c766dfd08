// A minimal /bridge protocol client for tests that must send exactly crafted batches (replays, resends, foreign keys).
import { io, type Socket } from 'socket.io-client';
import type { Wallet, HDNodeWallet } from 'ethers';
import {
  BridgeChallengeTypes, MeterReadingHasher, gridmeshDomain,
  type Ack, type MeterReading, type ReadingBatchResult, type SignedMeterReading,
} from '@gridmesh/contracts-abi';

export class BridgeProtocolClient {
  readonly socket: Socket;
  private readonly hasher: MeterReadingHasher;
  private challenge: Promise<string>;

  constructor(serverUrl: string, private readonly key: Wallet | HDNodeWallet, private readonly chainId = 31337) {
    this.hasher = new MeterReadingHasher(chainId);
    this.socket = io(`${serverUrl}/bridge`, { transports: ['websocket'], reconnection: false, auth: { meter: key.address } });
    this.challenge = new Promise((r) => this.socket.once('challenge', (c: { challenge: string }) => r(c.challenge)));
  }

  async hello(): Promise<Ack> {
    const challenge = await this.challenge;
    const signature = await this.key.signTypedData(gridmeshDomain(this.chainId), BridgeChallengeTypes, { meter: this.key.address, challenge });
    return this.socket.emitWithAck('hello', { meter: this.key.address, challenge, signature });
  }

  sign(reading: MeterReading, signer: Wallet | HDNodeWallet = this.key): SignedMeterReading {
    return { ...reading, signature: signer.signingKey.sign(this.hasher.digest(reading)).serialized as `0x${string}` };
  }

  send(readings: SignedMeterReading[]): Promise<Ack<ReadingBatchResult>> {
    return this.socket.timeout(10_000).emitWithAck('readings', { readings });
  }

  close(): void {
    this.socket.close();
  }
}
