// Committed contract artifacts equal a fresh solc compile; declared TS method types match the ABI; packed netting round-trips.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Wallet } from 'ethers';
import { EnergyMarketArtifact, packNetting, unpackNetting } from '@gridmesh/contracts-abi';
import { ARTIFACTS_DIR, CONTRACT_NAMES, compileContracts, serializeArtifact } from '../../contracts-abi/scripts/build-contracts.ts';

describe('chain: contract build', function () {
  this.timeout(120_000);

  it('committed artifacts equal a fresh compile (run `npm run contracts:build` after changing a .sol)', () => {
    const fresh = compileContracts();
    for (const name of CONTRACT_NAMES) {
      const committed = readFileSync(join(ARTIFACTS_DIR, `${name}.json`), 'utf8');
      assert.equal(committed, serializeArtifact(fresh[name]), `${name}.json is stale`);
      assert.match(fresh[name].compiler.version, /^0\.8\.37\+/);
      assert.equal(fresh[name].compiler.settings.evmVersion, 'cancun');
      assert.equal(fresh[name].compiler.settings.optimizer.enabled, true);
    }
  });

  it('every method the typed EnergyMarket declares exists in the ABI with that arity', () => {
    const source = readFileSync(join(ARTIFACTS_DIR, '..', 'src', 'contracts.ts'), 'utf8');
    const block = source.slice(source.indexOf('export type EnergyMarket = TypedContract<{'), source.indexOf('\n}>;', source.indexOf('export type EnergyMarket =')));
    const declared = [...block.matchAll(/^\s{2}(\w+): (?:Send|SendReturning|View)<\s*\[([^\]]*)\]/gm)];
    assert.ok(declared.length > 25, 'parsed the declarations');
    const abi = EnergyMarketArtifact.abi as { type: string; name?: string; inputs?: unknown[] }[];
    for (const [, name, args] of declared) {
      const fn = abi.find((f) => f.type === 'function' && f.name === name);
      assert.ok(fn, `${name} is in the ABI`);
      const arity = args.trim() === '' ? 0 : args.split(',').filter((a) => a.includes(':')).length;
      assert.equal(fn.inputs?.length, arity, `${name} arity`);
    }
  });

  it('packNetting merges, sorts, keeps Σ = 0 and round-trips through unpackNetting', () => {
    const accounts = Array.from({ length: 8 }, () => Wallet.createRandom().address);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n })), { minLength: 1, maxLength: 30 }),
        (rows) => {
          const entries = rows.map(([i, delta]) => ({ account: accounts[i], delta }));
          const total = entries.reduce((s, e) => s + e.delta, 0n);
          entries.push({ account: accounts[0], delta: -total }); // make it balance
          const packed = packNetting(entries);
          const unpacked = unpackNetting(packed.accounts, packed.deltas);
          assert.equal(unpacked.length, packed.count);
          assert.equal(unpacked.reduce((s, e) => s + e.delta, 0n), 0n);
          const lower = unpacked.map((e) => e.account.toLowerCase());
          assert.deepEqual(lower, [...lower].sort());
          assert.equal(new Set(lower).size, lower.length);
          for (const e of unpacked) {
            const expected = entries.filter((x) => x.account.toLowerCase() === e.account.toLowerCase()).reduce((s, x) => s + x.delta, 0n);
            assert.equal(e.delta, expected);
            assert.notEqual(e.delta, 0n);
          }
        },
      ),
    );
  });
});
