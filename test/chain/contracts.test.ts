// EnergyMarket, GridToken and RewardToken on the real local EVM (embedded Hardhat): escrow, settlement, rewards, EIP-712 views.
import assert from 'node:assert/strict';
import { Wallet, hexlify, randomBytes, ZeroHash } from 'ethers';
import fc from 'fast-check';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  MeterBindingTypes,
  MeterReadingHasher,
  REWARD_LEAF_ENCODING,
  ReadingFlags,
  energyMarketAt,
  gridmeshDomain,
  packNetting,
  rewardTokenAt,
  type Address,
} from '@gridmesh/contracts-abi';
import { ReadingSigner } from '@gridmesh/firmware-bridge/signer.ts';
import { SimulatedMeter } from '@gridmesh/firmware-bridge/devices/simulated.ts';
import { expectRevert, fundedWallets, increaseTime, startChainFixture, type ChainFixture } from './helpers.ts';

const EUR = 1_000_000n; // GridToken has 6 decimals

describe('chain: contracts on the local EVM', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  let alice: Wallet;
  let bob: Wallet;
  let carol: Wallet;
  let slot = 1_790_000_000_000;

  before(async () => {
    f = await startChainFixture({ withdrawalDelaySeconds: 600 });
    [alice, bob, carol] = await fundedWallets(f, 3);
    await (await f.token.mint(f.operator.address, 1_000n * EUR)).wait();
    for (const w of [alice, bob, carol]) await (await f.token.transfer(w.address, 100n * EUR)).wait();
    for (const w of [alice, bob, carol]) {
      await (await f.token.connect(w).approve(await f.market.getAddress(), 2n ** 255n)).wait();
      await (await f.market.connect(w).deposit(50n * EUR)).wait();
    }
  });
  after(async () => f?.close());

  const nextSlot = () => (slot += 60_000);
  const root = () => hexlify(randomBytes(32));

  it('GridToken has 6 decimals; only EnergyMarket may mint RewardToken', async () => {
    assert.equal(await f.token.decimals(), 6n);
    assert.equal(await f.reward.minter(), await f.market.getAddress());
    await expectRevert(rewardTokenAt(await f.reward.getAddress(), alice).mint(alice.address, 1n), 'OnlyMinter');
    await expectRevert(f.token.connect(alice).mint(alice.address, 1n), 'OwnableUnauthorizedAccount');
  });

  it('deposit credits escrow and pulls the tokens', async () => {
    assert.equal(await f.market.escrowOf(alice.address), 50n * EUR);
    assert.equal(await f.token.balanceOf(alice.address), 50n * EUR);
    assert.equal(await f.token.balanceOf(await f.market.getAddress()), 150n * EUR);
    await expectRevert(f.market.connect(alice).deposit(0n), 'ZeroAmount');
  });

  it('withdrawal waits for the delay, cannot exceed the balance, and pays at most the balance at execution', async () => {
    const market = f.market.connect(carol);
    await expectRevert(market.requestWithdrawal(50n * EUR + 1n), 'InsufficientEscrow');
    await expectRevert(market.executeWithdrawal(), 'NoWithdrawalPending');
    await (await market.requestWithdrawal(20n * EUR)).wait();
    await expectRevert(market.executeWithdrawal(), 'WithdrawalNotReady');
    const pending = await f.market.pendingWithdrawal(carol.address);
    assert.equal(pending.amount, 20n * EUR);
    await increaseTime(f, 600);
    const before = await f.token.balanceOf(carol.address);
    await (await market.executeWithdrawal()).wait();
    assert.equal(await f.token.balanceOf(carol.address), before + 20n * EUR);
    assert.equal(await f.market.escrowOf(carol.address), 30n * EUR);

    // Settlement during the delay spends escrow: execution pays only what is left.
    await (await market.requestWithdrawal(30n * EUR)).wait();
    const batch = packNetting([
      { account: carol.address, delta: -25n * EUR },
      { account: alice.address, delta: 25n * EUR },
    ]);
    await (await f.market.settleSlot(nextSlot(), root(), 1, batch.accounts, batch.deltas)).wait();
    await increaseTime(f, 600);
    await (await market.executeWithdrawal()).wait();
    assert.equal(await f.market.escrowOf(carol.address), 0n);
    assert.equal(await f.token.balanceOf(carol.address), before + 25n * EUR);
    // put carol back in business for later tests
    await (await f.market.connect(carol).deposit(50n * EUR)).wait();
  });

  it('settleSlot applies netted deltas once, stores the root and emits one event', async () => {
    const s = nextSlot();
    const tradesRoot = root();
    const before = await Promise.all([alice, bob, carol].map((w) => f.market.escrowOf(w.address)));
    const batch = packNetting([
      { account: alice.address, delta: -3_000_000n },
      { account: bob.address, delta: 2_000_000n },
      { account: carol.address, delta: 1_000_000n },
    ]);
    const receipt = await (await f.market.settleSlot(s, tradesRoot, 2, batch.accounts, batch.deltas)).wait();
    const after = await Promise.all([alice, bob, carol].map((w) => f.market.escrowOf(w.address)));
    assert.deepEqual(
      after.map((a, i) => a - before[i]),
      [-3_000_000n, 2_000_000n, 1_000_000n],
    );
    assert.equal(await f.market.slotSettled(s), true);
    assert.equal(await f.market.slotTradesRoot(s), tradesRoot);
    const events = receipt!.logs.map((l) => f.market.interface.parseLog(l)).filter((e) => e?.name === 'SlotSettled');
    assert.equal(events.length, 1);
    assert.equal(events[0]!.args.slotId, BigInt(s));
    assert.equal(events[0]!.args.accountCount, 3n);
    assert.equal(await f.market.slotSettled(nextSlot()), false);
  });

  it('refuses a slot settled twice, deltas not summing to zero, a non-operator, a negative account, unsorted accounts', async () => {
    const s = nextSlot();
    const ok = packNetting([
      { account: alice.address, delta: -1n },
      { account: bob.address, delta: 1n },
    ]);
    await (await f.market.settleSlot(s, root(), 1, ok.accounts, ok.deltas)).wait();
    await expectRevert(f.market.settleSlot(s, root(), 1, ok.accounts, ok.deltas), 'SlotAlreadySettled');

    // Hand-packed: packNetting itself refuses a non-zero sum.
    const [lo, hi] = [alice.address, bob.address].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
    const accounts = `0x${lo.slice(2)}${hi.slice(2)}`;
    const int96 = (v: bigint) => BigInt.asUintN(96, v).toString(16).padStart(24, '0');
    await expectRevert(f.market.settleSlot(nextSlot(), root(), 1, accounts, `0x${int96(-5n)}${int96(4n)}`), 'DeltasNotZeroSum');
    assert.throws(() => packNetting([{ account: alice.address, delta: 5n }]), /sum/);

    await expectRevert(f.market.connect(alice).settleSlot(nextSlot(), root(), 1, ok.accounts, ok.deltas), 'AccessControlUnauthorizedAccount');

    const escrowLo = await f.market.escrowOf(lo);
    await expectRevert(
      f.market.settleSlot(nextSlot(), root(), 1, accounts, `0x${int96(-(escrowLo + 1n))}${int96(escrowLo + 1n)}`),
      'AccountNegative',
    );
    const reversed = `0x${hi.slice(2)}${lo.slice(2)}`;
    await expectRevert(f.market.settleSlot(nextSlot(), root(), 1, reversed, `0x${int96(-1n)}${int96(1n)}`), 'AccountsNotAscending');
    await expectRevert(f.market.settleSlot(nextSlot(), ZeroHash, 1, ok.accounts, ok.deltas), 'EmptyTradesRoot');
    await expectRevert(f.market.settleSlot(nextSlot(), root(), 1, ok.accounts, '0x00'), 'MalformedBatch');
  });

  it('property: a settled slot changes each account by exactly its netted delta and conserves total escrow; a refused one changes nothing', async () => {
    const people = [alice, bob, carol].map((w) => w.address);
    const marketAddress = await f.market.getAddress();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.bigInt({ min: 1n, max: 60n * EUR })), { minLength: 1, maxLength: 8 }), async (transfers) => {
        const entries = transfers.filter(([from, to]) => from !== to).flatMap(([from, to, amount]) => [
          { account: people[from], delta: -amount },
          { account: people[to], delta: amount },
        ]);
        if (entries.length === 0) return;
        const packed = packNetting(entries);
        if (packed.count === 0) return;
        const before = await Promise.all(people.map((p) => f.market.escrowOf(p)));
        const held = await f.token.balanceOf(marketAddress);
        const net = people.map((p) => entries.filter((e) => e.account === p).reduce((sum, e) => sum + e.delta, 0n));
        const feasible = before.every((b, i) => b + net[i] >= 0n);
        const s = nextSlot();
        if (feasible) {
          await (await f.market.settleSlot(s, root(), transfers.length, packed.accounts, packed.deltas)).wait();
        } else {
          await expectRevert(f.market.settleSlot(s, root(), transfers.length, packed.accounts, packed.deltas), 'AccountNegative');
        }
        const after = await Promise.all(people.map((p) => f.market.escrowOf(p)));
        after.forEach((a, i) => assert.equal(a, feasible ? before[i] + net[i] : before[i]));
        assert.equal(after.reduce((x, y) => x + y, 0n), before.reduce((x, y) => x + y, 0n), 'value conserved');
        assert.equal(await f.token.balanceOf(marketAddress), held, 'settlement moves no tokens');
        assert.equal(await f.market.slotSettled(s), feasible);
      }),
      { numRuns: 25 },
    );
  });

  it('a 500-account batch fits the block gas limit (worst case: 499 fresh accounts credited)', async () => {
    const credited = Array.from({ length: 499 }, () => Wallet.createRandom().address);
    const entries = credited.map((account) => ({ account, delta: 1000n }));
    entries.push({ account: alice.address, delta: -1000n * 499n });
    const batch = packNetting(entries);
    assert.equal(batch.count, 500);
    const receipt = await (await f.market.settleSlot(nextSlot(), root(), 600, batch.accounts, batch.deltas)).wait();
    const block = await f.provider.getBlock(receipt!.blockNumber);
    assert.equal(receipt!.status, 1);
    assert.ok(receipt!.gasUsed < block!.gasLimit, `${receipt!.gasUsed} < ${block!.gasLimit}`);
    assert.ok(receipt!.gasUsed < 1n << 24n, 'also under the EIP-7825 per-transaction cap (Osaka)');
    assert.equal(await f.market.escrowOf(credited[123]), 1000n);
  });

  it('reward epoch: root published, claim pays the cumulative difference once, non-operator cannot publish', async () => {
    const tree1 = StandardMerkleTree.of(
      [
        [alice.address, '100'],
        [bob.address, '40'],
      ],
      [...REWARD_LEAF_ENCODING],
    );
    await expectRevert(f.market.connect(alice).publishRewardRoot(1, tree1.root), 'AccessControlUnauthorizedAccount');
    await (await f.market.publishRewardRoot(1, tree1.root)).wait();
    await expectRevert(f.market.publishRewardRoot(1, tree1.root), 'EpochNotIncreasing');
    const proofA1 = tree1.getProof(0);
    await (await f.market.connect(alice).claim(100n, proofA1)).wait();
    assert.equal(await f.reward.balanceOf(alice.address), 100n);
    await expectRevert(f.market.connect(alice).claim(100n, proofA1), 'NothingToClaim');
    assert.equal(await f.reward.balanceOf(alice.address), 100n, 'second claim pays nothing');
    await expectRevert(f.market.connect(alice).claim(1000n, proofA1), 'InvalidRewardProof');

    const tree2 = StandardMerkleTree.of(
      [
        [alice.address, '250'],
        [bob.address, '40'],
        [carol.address, '7'],
      ],
      [...REWARD_LEAF_ENCODING],
    );
    await (await f.market.publishRewardRoot(2, tree2.root)).wait();
    await (await f.market.connect(alice).claim(250n, tree2.getProof(0))).wait();
    assert.equal(await f.reward.balanceOf(alice.address), 250n);
    // anyone may relay a claim; tokens go to the entitled account
    await (await f.market.connect(alice).claimFor(carol.address, 7n, tree2.getProof(2))).wait();
    assert.equal(await f.reward.balanceOf(carol.address), 7n);
    assert.equal(await f.market.rewardsClaimed(alice.address), 250n);

    // A claim built against the root just replaced still pays (no race with a publication); two roots back it does not.
    const tree3 = StandardMerkleTree.of([[alice.address, '300'], [bob.address, '90'], [carol.address, '7']], [...REWARD_LEAF_ENCODING]);
    await (await f.market.publishRewardRoot(3, tree3.root)).wait();
    assert.equal(await f.market.previousRewardRoot(), tree2.root);
    await (await f.market.connect(bob).claim(40n, tree2.getProof(1))).wait();
    assert.equal(await f.reward.balanceOf(bob.address), 40n);
    await expectRevert(f.market.connect(bob).claim(40n, tree1.getProof(1)), 'InvalidRewardProof');
    await (await f.market.connect(bob).claim(90n, tree3.getProof(1))).wait();
    assert.equal(await f.reward.balanceOf(bob.address), 90n, 'cumulative: the later root pays only the difference');
  });

  it('recovers the bridge address from a reading produced and signed by the bridge code', async () => {
    const device = Wallet.createRandom();
    const signer = new ReadingSigner(new Wallet(device.privateKey), f.chain.chainId);
    const meter = new SimulatedMeter({ id: 'pv-1', seed: 7, pvPeakW: 6000, loadBaseW: 300, intervalMs: 1000, clockOffsetMin: 0 });
    const noon = Date.UTC(2026, 5, 21, 11, 0, 0);
    const { reading: m } = meter.measure(noon);
    const signed = signer.signReading({ meter: signer.meter, seq: 42, ...m, phases: undefined } as never);
    assert.ok(signed.powerW < 0, 'a sunny noon exports: negative int64 powerW exercises sign extension');
    const struct = {
      meter: signed.meter,
      seq: signed.seq,
      timestamp: signed.timestamp,
      importWh: signed.importWh,
      exportWh: signed.exportWh,
      powerW: signed.powerW,
      flags: signed.flags,
    };
    assert.equal(signed.flags & ReadingFlags.SIMULATED, ReadingFlags.SIMULATED);
    assert.equal(await f.market.meterReadingDigest(struct), hexlify(new MeterReadingHasher(f.chain.chainId).digest(struct)));
    assert.equal(await f.market.recoverReadingSigner(struct, signed.signature), device.address);
    // a tampered reading recovers someone else
    assert.notEqual(await f.market.recoverReadingSigner({ ...struct, exportWh: struct.exportWh + 1 }, signed.signature), device.address);
  });

  it('meter registry binds a meter with the owner signature and refuses others, stale nonces and wrong signers', async () => {
    const meter = Wallet.createRandom().address as Address;
    const domain = gridmeshDomain(f.chain.chainId);
    const binding = { meter, owner: alice.address, role: 1, capacityW: 6000, nonce: 0 };
    const sig = await alice.signTypedData(domain, MeterBindingTypes, binding);
    const relayer = energyMarketAt(await f.market.getAddress(), bob); // anyone may relay
    await expectRevert(relayer.bindMeter({ ...binding, capacityW: 7000 }, sig), 'WrongSigner');
    await (await relayer.bindMeter(binding, sig)).wait();
    const stored = await f.market.meters(meter);
    assert.equal(stored.owner, alice.address);
    assert.equal(stored.capacityW, 6000n);
    await expectRevert(relayer.bindMeter(binding, sig), 'StaleBindingNonce');
    const steal = { ...binding, owner: bob.address, nonce: 5 };
    await expectRevert(relayer.bindMeter(steal, await bob.signTypedData(domain, MeterBindingTypes, steal)), 'MeterBoundToOther');
    await expectRevert(relayer.bindMeter({ ...binding, role: 9, nonce: 1 }, sig), 'InvalidMeterRole');
    await (await f.market.connect(alice).unbindMeter(meter)).wait();
    await expectRevert(relayer.bindMeter(binding, sig), 'StaleBindingNonce'); // no replay after unbind
    await (await relayer.bindMeter(steal, await bob.signTypedData(domain, MeterBindingTypes, steal))).wait();
    assert.equal((await f.market.meters(meter)).owner, bob.address);
  });
});
