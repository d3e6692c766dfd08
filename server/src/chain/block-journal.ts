// Durable journal of every mined block of the embedded chain (raw signed txs + timestamp), replayed on restart.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { Transaction, keccak256, type TransactionLike } from 'ethers';

/** One mined block: enough to re-mine it identically on a fresh chain with the same genesis. */
export interface JournaledBlock {
  number: number;
  timestamp: number;
  hash: string;
  /** Signed transactions in block order, serialized (EIP-2718). */
  txs: string[];
}

/** JSON-RPC transaction object as returned by eth_getBlockByNumber(n, true). */
export interface RpcTransaction {
  hash: string;
  type: string;
  chainId?: string;
  nonce: string;
  gas: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  to: string | null;
  value: string;
  input: string;
  accessList?: { address: string; storageKeys: string[] }[];
  v: string;
  r: string;
  s: string;
  yParity?: string;
}

/** Re-serializes a mined transaction from its RPC form; checks the hash so a journal can never hold a different tx. */
export function rawTransactionOf(tx: RpcTransaction): string {
  const type = Number(tx.type);
  const like: TransactionLike = {
    type,
    nonce: Number(tx.nonce),
    gasLimit: BigInt(tx.gas),
    to: tx.to,
    value: BigInt(tx.value),
    data: tx.input,
    signature: { r: tx.r, s: tx.s, v: type === 0 ? BigInt(tx.v) : 27 + Number(tx.yParity ?? tx.v) },
  };
  if (tx.chainId !== undefined) like.chainId = BigInt(tx.chainId);
  if (type === 0 || type === 1) like.gasPrice = BigInt(tx.gasPrice ?? 0);
  if (type === 1 || type === 2) like.accessList = tx.accessList ?? [];
  if (type === 2) {
    like.maxFeePerGas = BigInt(tx.maxFeePerGas ?? 0);
    like.maxPriorityFeePerGas = BigInt(tx.maxPriorityFeePerGas ?? 0);
  }
  if (type > 2) throw new Error(`transaction type ${type} cannot be journaled (${tx.hash})`);
  const serialized = Transaction.from(like).serialized;
  if (keccak256(serialized) !== tx.hash) throw new Error(`re-serialized transaction ${tx.hash} does not match its hash`);
  return serialized;
}

/** Append-only NDJSON file; each append is fsynced before the caller acknowledges the transaction. */
export class BlockJournal {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  readAll(): JournaledBlock[] {
    if (!existsSync(this.path)) return [];
    const blocks: JournaledBlock[] = [];
    const text = readFileSync(this.path, 'utf8');
    let offset = 0;
    for (const line of text.split('\n')) {
      if (line.trim()) {
        try {
          blocks.push(JSON.parse(line) as JournaledBlock);
        } catch {
          // A torn last line from a crash mid-write: keep everything before it, drop the rest.
          truncateSync(this.path, Buffer.byteLength(text.slice(0, offset)));
          break;
        }
      }
      offset += line.length + 1;
    }
    return blocks;
  }

  append(blocks: JournaledBlock[]): void {
    if (blocks.length === 0) return;
    this.fd ??= openSync(this.path, 'a');
    writeSync(this.fd, blocks.map((b) => JSON.stringify(b)).join('\n') + '\n');
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
