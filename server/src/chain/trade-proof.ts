// Trades tree of a delivery slot (OpenZeppelin StandardMerkleTree) and the REST route that serves a trade's proof.
import { Router, type Request, type Response } from 'express';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { ErrorCode, TRADE_LEAF_ENCODING, TRADE_LEAF_FIELDS, tradeLeafValues, type TradeLeafInput, type TradeLeafValues, type WireError } from '@gridmesh/contracts-abi';

/** A matched trade as the tree needs it; `id` is the server's trade id used in the URL. */
export interface ProvableTrade extends TradeLeafInput {
  id: string;
}

export interface TradeTree {
  tree: StandardMerkleTree<TradeLeafValues>;
  root: string;
  /** Trade id → index of its value in the tree. */
  indexById: Map<string, number>;
}

export interface TradeProof {
  tradeId: string;
  /** Leaf values by field name, as decimal strings / lower-case addresses. */
  leaf: Record<(typeof TRADE_LEAF_FIELDS)[number], string>;
  leafEncoding: readonly string[];
  leafHash: string;
  proof: string[];
  root: string;
}

/** Builds the slot's trades tree; throws on an empty slot (nothing to settle) or a duplicate trade id. */
export function buildTradeTree(trades: readonly ProvableTrade[]): TradeTree {
  if (trades.length === 0) throw new RangeError('a slot without trades has no trades tree');
  const indexById = new Map<string, number>();
  trades.forEach((t, i) => {
    if (indexById.has(t.id)) throw new RangeError(`duplicate trade id ${t.id}`);
    indexById.set(t.id, i);
  });
  const tree = StandardMerkleTree.of(trades.map(tradeLeafValues), [...TRADE_LEAF_ENCODING]);
  return { tree, root: tree.root, indexById };
}

export function tradeProof(tradeTree: TradeTree, tradeId: string): TradeProof | undefined {
  const index = tradeTree.indexById.get(tradeId);
  if (index === undefined) return undefined;
  const values = tradeTree.tree.at(index) as TradeLeafValues;
  return {
    tradeId,
    leaf: Object.fromEntries(TRADE_LEAF_FIELDS.map((field, i) => [field, values[i]])) as TradeProof['leaf'],
    leafEncoding: TRADE_LEAF_ENCODING,
    leafHash: tradeTree.tree.leafHash(values),
    proof: tradeTree.tree.getProof(index),
    root: tradeTree.root,
  };
}

/** Returns the trades of a slot in settlement order (the order the tree was built in), or undefined if unknown. */
export type SlotTradesLookup = (slotId: number) => readonly ProvableTrade[] | undefined | Promise<readonly ProvableTrade[] | undefined>;

function wireError(res: Response, status: number, error: WireError): void {
  res.status(status).json(error);
}

/** Express router with GET /api/slots/:slotId/trades/:tradeId/proof (mount at the app root). */
export function tradeProofRouter(lookupSlotTrades: SlotTradesLookup): Router {
  const router = Router();
  router.get('/api/slots/:slotId/trades/:tradeId/proof', async (req: Request<{ slotId: string; tradeId: string }>, res: Response) => {
    const { slotId: rawSlot, tradeId } = req.params;
    if (!/^\d{1,16}$/.test(rawSlot)) {
      wireError(res, 400, {
        code: ErrorCode.VALIDATION,
        message: 'slotId must be the slot start in ms since epoch',
        fields: [{ field: '/slotId', message: 'expected a non-negative integer' }],
      });
      return;
    }
    const slotId = Number(rawSlot);
    const trades = await lookupSlotTrades(slotId);
    if (!trades || trades.length === 0) {
      wireError(res, 404, { code: ErrorCode.NOT_FOUND, message: `no trades for slot ${slotId}`, fields: [{ field: '/slotId', message: 'unknown slot' }] });
      return;
    }
    const proof = tradeProof(buildTradeTree(trades), tradeId);
    if (!proof) {
      wireError(res, 404, { code: ErrorCode.NOT_FOUND, message: `trade ${tradeId} is not in slot ${slotId}`, fields: [{ field: '/tradeId', message: 'unknown trade' }] });
      return;
    }
    res.json({ slotId, ...proof });
  });
  return router;
}
