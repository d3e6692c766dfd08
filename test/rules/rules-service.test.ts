// REST-facing rule set and session-key authorisation: validation by field, ownership of meters, replacement semantics.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { DelegationTypes, type Address, type Hex } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { Store } from '../../server/src/store/index.ts';
import { RulesError, TradeRulesService } from '../../server/src/rules/rules-service.ts';
import { DelegationError, DelegationService } from '../../server/src/rules/delegation.ts';

const NOW = 1_700_000_000_000;
const me = ('0x' + '1'.repeat(40)) as Address;
const other = ('0x' + '2'.repeat(40)) as Address;
const m1 = ('0x' + 'a'.repeat(40)) as Address;
const m2 = ('0x' + 'b'.repeat(40)) as Address;
const theirs = ('0x' + 'c'.repeat(40)) as Address;

describe('trade rules service and session-key authorisation', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-rulesvc-'));
    store = openSqliteStore(join(dir, 'store.db'));
    const bind = (meter: Address, owner: Address) => store.meters.bind({ meter, owner, role: 'grid', capacityW: 5000, label: null, nonce: 0, bindingSignature: ('0x' + '0'.repeat(130)) as Hex, createdAt: 0 });
    await bind(m1, me);
    await bind(m2, me);
    await bind(theirs, other);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fails = async (p: Promise<unknown>, status: number, field: string) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof RulesError || e instanceof DelegationError);
      assert.equal(e.status, status);
      assert.ok(e.body.fields?.some((f) => f.field === field), JSON.stringify(e.body));
      return true;
    });
  };

  it('replaces the rule set, defaults the market, removes rules left out', async () => {
    const svc = new TradeRulesService(store, 'main');
    await svc.replace(me, { rules: [{ meter: m1, enabled: true, minSellPrice: '120000', maxBuyPrice: '250000' }, { meter: m2.toUpperCase().replace('0X', '0x'), enabled: false, minSellPrice: null }] }, NOW);
    const after = await svc.replace(me, { rules: [{ meter: m2, market: 'demo', enabled: true, maxBuyPrice: '200000' }] }, NOW + 1);
    assert.deepEqual(after, [{ meter: m2, market: 'demo', enabled: true, minSellPrice: null, maxBuyPrice: '200000' }]);
    assert.deepEqual(await svc.list(me), after);
  });

  it('refuses bad bodies by field, someone else\'s meter (403) and unknown meters (404)', async () => {
    const svc = new TradeRulesService(store, 'main');
    await fails(svc.replace(me, { rules: [{ meter: m1, enabled: 'yes' }] }, NOW), 400, '/rules/0/enabled');
    await fails(svc.replace(me, { rules: [{ meter: m1, enabled: true, minSellPrice: '-5' }] }, NOW), 400, '/rules/0/minSellPrice');
    await fails(svc.replace(me, { rules: [{ meter: m1, enabled: true }, { meter: m1, enabled: false }] }, NOW), 400, '/rules/1/meter');
    await fails(svc.replace(me, { rules: [{ meter: theirs, enabled: true }] }, NOW), 403, '/rules/0/meter');
    await fails(svc.replace(me, { rules: [{ meter: ('0x' + 'd'.repeat(40)), enabled: true }] }, NOW), 404, '/rules/0/meter');
    assert.deepEqual(await svc.list(me), []);
  });

  it('authorises a session key in the API.md shape and names /sessionKey and /signature on errors', async () => {
    const owner = Wallet.createRandom();
    const svc = new DelegationService(store, 31337, 'rules-service-test-secret');
    await svc.load();
    const { delegate, typedData } = await svc.createSessionKey(owner.address, NOW + 3_600_000, NOW);
    const signature = await owner.signTypedData(typedData.domain, DelegationTypes, typedData.message);
    await fails(svc.authoriseSessionKey(owner.address, { sessionKey: delegate, expiry: NOW + 3_600_000, signature: '0x' + '1'.repeat(130) }, NOW), 400, '/signature');
    await fails(svc.authoriseSessionKey(owner.address, { sessionKey: owner.address, expiry: NOW + 3_600_000, signature }, NOW), 400, '/sessionKey');
    await fails(svc.authoriseSessionKey(owner.address, { sessionKey: 'x', expiry: NOW + 3_600_000, signature }, NOW), 400, '/sessionKey');
    await svc.authoriseSessionKey(owner.address, { sessionKey: delegate, expiry: NOW + 3_600_000, signature }, NOW);
    assert.equal(svc.isAuthorisedSigner(owner.address, delegate, NOW), true);
    assert.equal(svc.signerFor(owner.address, NOW)?.address, delegate);
  });
});
