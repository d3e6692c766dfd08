// Worker thread of the order recover pool: EIP-712 Order digests (WASM keccak) of a batch, then one batched libsecp256k1 recovery call for all of them.
import { parentPort } from 'node:worker_threads';
import { OrderSigner } from './order-signature.ts';
import { ITEM_WIDTH, itemAt, type RecoverRequest, type RecoverRequestItem, type RecoverResponse } from './recover-pool.ts';

const signers = new Map<number, OrderSigner>();
const signerFor = async (chainId: number): Promise<OrderSigner> => {
  let s = signers.get(chainId);
  if (!s) {
    s = new OrderSigner(chainId);
    await s.ready();
    signers.set(chainId, s);
  }
  return s;
};

parentPort!.on('message', (req: RecoverRequest) => {
  void (async () => {
    const count = req.flat.length / ITEM_WIDTH;
    const items: RecoverRequestItem[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = itemAt(req.flat, i);
    const out: RecoverResponse['signers'] = new Array(count);
    // One server has one chain id: the whole batch is usually one run.
    for (let start = 0; start < count;) {
      const chainId = items[start].chainId;
      let end = start + 1;
      while (end < count && items[end].chainId === chainId) end++;
      const signer = signers.get(chainId) ?? (await signerFor(chainId));
      const recovered = signer.recoverMany(items.slice(start, end));
      for (let i = start; i < end; i++) out[i] = recovered[i - start];
      start = end;
    }
    parentPort!.postMessage({ id: req.id, signers: out } satisfies RecoverResponse);
  })();
});
