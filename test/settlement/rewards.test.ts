// Reward accrual per slot and the epoch tree of cumulative entitlements that EnergyMarket.claim verifies.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak_256 as keccak } from '@noble/hashes/sha3';
import { rewardLeafHash } from '@gridmesh/contracts-abi';
import { accrueSlotRewards, cumulativeEntitlements, rewardEpochTree } from '../../server/src/settlement/index.ts';

const A = '0x' + '1'.repeat(40);
const B = '0x' + '2'.repeat(40);
const M = '0x' + '9'.repeat(40);
const policy = { deliveryPerKWh: 10n ** 18n, uptimePerSlot: 6n * 10n ** 16n, readingIntervalMs: 10_000 };

describe('rewards', () => {
  it('pays delivery per verified kWh and uptime by the share of expected readings (capped at 100 %)', () => {
    const acc = accrueSlotRewards(0, 60_000, [
      { participant: A, deliveredWh: 1500, metered: true },
      { participant: B, deliveredWh: 800, metered: false },
    ], [{ meter: M, owner: B, validReadings: 3 }, { meter: '0x' + '8'.repeat(40), owner: A, validReadings: 99 }], policy);
    assert.deepEqual(acc.map((a) => [a.account, a.kind, a.amount]), [
      [A, 'delivery', 15n * 10n ** 17n],
      [A, 'uptime', 6n * 10n ** 16n],
      [B, 'uptime', 3n * 10n ** 16n],
    ]);
  });

  it('entitlements are cumulative sums and every proof verifies against the root with the contract leaf', () => {
    fc.assert(fc.property(fc.array(fc.record({ who: fc.integer({ min: 1, max: 6 }), amount: fc.bigInt({ min: 1n, max: 10n ** 24n }) }), { minLength: 1, maxLength: 40 }), (raw) => {
      const accruals = raw.map((r) => ({ account: '0x' + String(r.who).repeat(40), amount: r.amount }));
      const ents = cumulativeEntitlements(accruals);
      assert.equal(ents.reduce((a, e) => a + e.cumulative, 0n), accruals.reduce((a, r) => a + r.amount, 0n));
      const tree = rewardEpochTree(ents);
      for (const e of ents) {
        const proof = tree.proof(e.account)!;
        assert.ok(StandardMerkleTree.verify(tree.root, ['address', 'uint256'], [e.account, e.cumulative.toString()], proof));
        // Same leaf as the contract's keccak256(bytes.concat(keccak256(abi.encode(account, cumulative)))).
        let h = rewardLeafHash(e.account, e.cumulative);
        for (const p of proof) {
          const [x, y] = [h, p].sort();
          h = ('0x' + Buffer.from(keccak(Buffer.concat([Buffer.from(x.slice(2), 'hex'), Buffer.from(y.slice(2), 'hex')]))).toString('hex')) as `0x${string}`;
        }
        assert.equal(h, tree.root);
      }
    }), { numRuns: 50 });
  });
});
