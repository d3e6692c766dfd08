// Trade proofs: the REST route returns leaf + proof, and EnergyMarket.verifyTrade accepts it on chain for the settled slot.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import fc from 'fast-check';
import { Wallet } from 'ethers';
import { tradeLeafHash } from '@gridmesh/contracts-abi';
import { buildTradeTree, tradeProof, tradeProofRouter, type ProvableTrade } from '../../server/src/chain/trade-proof.ts';
import { buildSettlementBatch } from '../../server/src/chain/settlement-batch.ts';
import { fundAndDeposit } from '../../server/src/chain/demo-funding.ts';
import { startChainFixture, type ChainFixture } from './helpers.ts';

describe('chain: trade proofs', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  let server: Server;
  let baseUrl: string;
  const slot = 1_950_000_000_000;
  const people = Array.from({ length: 10 }, () => Wallet.createRandom().address);
  const trades: ProvableTrade[] = Array.from({ length: 25 }, (_, i) => ({
    id: `trade-${i}`,
    slot,
    seq: i + 1,
    buyer: people[i % 5],
    seller: people[5 + ((i * 3) % 5)],
    price: BigInt(250_000 + i * 1000),
    quantityWh: 100 + i * 17,
  }));
  const slots = new Map<number, ProvableTrade[]>([[slot, trades]]);

  before(async () => {
    f = await startChainFixture();
    const app = express();
    app.use(tradeProofRouter((slotId) => slots.get(slotId)));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Settle the slot: buyers pay sellers price × kWh, netted per account.
    await fundAndDeposit(f.operator, f.chain.addresses, people.map((address) => ({ address, deposit: 10n ** 9n })));
    const deltas = trades.flatMap((t) => {
      const cost = (BigInt(t.price) * BigInt(t.quantityWh)) / 1000n;
      return [
        { account: t.buyer, delta: -cost },
        { account: t.seller, delta: cost },
      ];
    });
    const batch = buildSettlementBatch(slot, trades, deltas);
    await (await f.market.settleSlot(batch.slotId, batch.tradesRoot, batch.tradesCount, batch.accounts, batch.deltas)).wait();
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await f?.close();
  });

  it('GET /api/slots/:slotId/trades/:tradeId/proof returns a proof that verifyTrade accepts on chain', async () => {
    for (const id of ['trade-0', 'trade-13', 'trade-24']) {
      const res = await fetch(`${baseUrl}/api/slots/${slot}/trades/${id}/proof`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { root: string; proof: string[]; leafHash: string; leaf: Record<string, string> };
      assert.equal(body.root, await f.market.slotTradesRoot(slot));
      const l = body.leaf;
      assert.equal(await f.market.verifyTrade(BigInt(l.slot), BigInt(l.seq), l.buyer, l.seller, BigInt(l.price), BigInt(l.quantityWh), body.proof), true);
      // A changed quantity or a proof for another slot fails.
      assert.equal(await f.market.verifyTrade(BigInt(l.slot), BigInt(l.seq), l.buyer, l.seller, BigInt(l.price), BigInt(l.quantityWh) + 1n, body.proof), false);
      assert.equal(await f.market.verifyTrade(BigInt(l.slot) + 60_000n, BigInt(l.seq), l.buyer, l.seller, BigInt(l.price), BigInt(l.quantityWh), body.proof), false);
    }
  });

  it('answers 404 JSON for an unknown slot or trade and 400 for a malformed slot id', async () => {
    const unknownSlot = await fetch(`${baseUrl}/api/slots/${slot + 60_000}/trades/trade-0/proof`);
    assert.equal(unknownSlot.status, 404);
    assert.equal(((await unknownSlot.json()) as { code: string }).code, 'NOT_FOUND');
    const unknownTrade = await fetch(`${baseUrl}/api/slots/${slot}/trades/nope/proof`);
    assert.equal(unknownTrade.status, 404);
    assert.match(((await unknownTrade.json()) as { message: string }).message, /nope/);
    const bad = await fetch(`${baseUrl}/api/slots/abc/trades/trade-0/proof`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { fields: { field: string }[] }).fields[0].field, '/slotId');
  });

  it('leaf hash is the same in the Merkle library, the TS encoder and the contract', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          slot: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          price: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
          quantityWh: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          buyer: fc.integer({ min: 0, max: 9 }),
          seller: fc.integer({ min: 0, max: 9 }),
        }),
        async (r) => {
          const trade: ProvableTrade = { id: 'p', slot: r.slot, seq: r.seq, buyer: people[r.buyer], seller: people[r.seller], price: r.price, quantityWh: r.quantityWh };
          const proof = tradeProof(buildTradeTree([trade, { ...trade, id: 'q', seq: 0n }]), 'p')!;
          assert.equal(proof.leafHash, tradeLeafHash(trade));
          assert.equal(await f.market.tradeLeaf(r.slot, r.seq, trade.buyer, trade.seller, r.price, r.quantityWh), proof.leafHash);
        },
      ),
      { numRuns: 25 },
    );
  });
});
