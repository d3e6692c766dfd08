// Worker thread of the order recover pool: EIP-712 Order digest (WASM keccak) + libsecp256k1 recovery for each order of a batch.
import { parentPort } from 'node:worker_threads';
import { OrderSigner } from './order-signature.ts';
import { ITEM_WIDTH, itemAt, type RecoverRequest, type RecoverResponse } from './recover-pool.ts';

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
    const out: RecoverResponse['signers'] = new Array(count);
    for (let i = 0; i < count; i++) {
      const item = itemAt(req.flat, i);
      const signer = signers.get(item.chainId) ?? (await signerFor(item.chainId));
      out[i] = signer.recover(item.fields, item.signature);
    }
    parentPort!.postMessage({ id: req.id, signers: out } satisfies RecoverResponse);
  })();
});
