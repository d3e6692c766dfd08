// Delegated session keys: EIP-712 Delegation checked, expiry and revocation honoured, rule orders signed by the delegate verify.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, verifyTypedData } from 'ethers';
import { DelegationTypes, OrderSideCode, OrderTypes, TimeInForceCode, gridmeshDomain, type Address } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { Store } from '../../server/src/store/index.ts';
import { DelegationError, DelegationService } from '../../server/src/rules/delegation.ts';
import { OrderSigner } from '../../server/src/orders/order-signature.ts';

const CHAIN = 31337;
const SECRET = 'test-secret-0123456789abcdef';
const NOW = 1_700_000_000_000;

describe('delegated session keys', () => {
  let dir: string;
  let store: Store;
  let svc: DelegationService;
  const owner = Wallet.createRandom();
  const participant = owner.address as Address;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-deleg-'));
    store = openSqliteStore(join(dir, 'store.db'));
    svc = new DelegationService(store, CHAIN, SECRET);
    await svc.load();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const grant = async (delegate: string, expiry: number, signer = owner) => ({
    participant, delegate, expiry, signature: await signer.signTypedData(gridmeshDomain(CHAIN), DelegationTypes, { participant, delegate, expiry }),
  });

  it('authorises a delegate the participant signed for, until expiry, and not after revocation', async () => {
    const key = Wallet.createRandom();
    await svc.authorise(await grant(key.address, NOW + 60_000), NOW);
    assert.equal(svc.isAuthorisedSigner(participant, key.address, NOW), true);
    assert.equal(svc.isAuthorisedSigner(participant.toLowerCase(), key.address.toLowerCase(), NOW + 59_999), true);
    assert.equal(svc.isAuthorisedSigner(participant, key.address, NOW + 60_000), false, 'expired');
    assert.equal(svc.isAuthorisedSigner(participant, Wallet.createRandom().address, NOW), false, 'unknown delegate');
    assert.equal(svc.isAuthorisedSigner(Wallet.createRandom().address, key.address, NOW), false, 'delegation is per participant');
    assert.equal(await svc.revoke(participant, key.address, NOW + 1), true);
    assert.equal(svc.isAuthorisedSigner(participant, key.address, NOW + 2), false, 'revoked');
  });

  it('refuses a grant signed by someone else, in the past or malformed, naming the field', async () => {
    const key = Wallet.createRandom();
    const refused = async (body: unknown, field: string, code: string) => {
      await assert.rejects(svc.authorise(body, NOW), (e: unknown) => {
        assert.ok(e instanceof DelegationError);
        assert.equal(e.status, 400);
        assert.equal(e.body.code, code);
        assert.ok(e.body.fields?.some((f) => f.field === field), JSON.stringify(e.body));
        return true;
      });
    };
    await refused(await grant(key.address, NOW + 60_000, Wallet.createRandom()), '/signature', 'BAD_SIGNATURE');
    await refused({ ...(await grant(key.address, NOW + 60_000)), expiry: NOW + 60_001 }, '/signature', 'BAD_SIGNATURE');
    await refused(await grant(key.address, NOW - 1), '/expiry', 'VALIDATION');
    await refused({ participant, delegate: 'nope', expiry: NOW + 1 }, '/delegate', 'VALIDATION');
    assert.equal(svc.isAuthorisedSigner(participant, key.address, NOW), false);
  });

  it('a server-held session key signs rule orders that recover to the delegate, and survives a restart (encrypted at rest)', async () => {
    const { delegate, typedData } = await svc.createSessionKey(participant, NOW + 86_400_000, NOW);
    assert.equal(svc.signerFor(participant, NOW), null, 'not usable before the participant signs');
    const signature = await owner.signTypedData(typedData.domain, typedData.types, typedData.message);
    await svc.authorise({ participant, delegate, expiry: typedData.message.expiry, signature }, NOW);

    const reopened = new DelegationService(store, CHAIN, SECRET);
    await reopened.load();
    const signer = reopened.signerFor(participant, NOW + 1000)!;
    assert.equal(signer.address, delegate);
    const sub = signer.submission({ participant, market: 'default', slot: NOW + 3_600_000, side: 'ask', price: 150_000n, quantityWh: 700, expiry: NOW + 3_600_000 }, NOW);
    const { signature: orderSig, ...fields } = sub;
    const viaEthers = verifyTypedData(gridmeshDomain(CHAIN), OrderTypes, { ...fields, side: OrderSideCode[fields.side], timeInForce: TimeInForceCode[fields.timeInForce], price: BigInt(fields.price) }, orderSig);
    assert.equal(viaEthers.toLowerCase(), delegate);
    assert.equal(new OrderSigner(CHAIN).recover(fields, orderSig), delegate);
    assert.ok(reopened.isAuthorisedSigner(participant, new OrderSigner(CHAIN).recover(fields, orderSig)!, NOW));

    const next = signer.submission({ participant, market: 'default', slot: NOW + 3_600_000, side: 'ask', price: 150_000n, quantityWh: 700, expiry: NOW + 3_600_000 }, NOW);
    assert.ok(next.nonce > sub.nonce, 'nonces strictly increase');
    const amend = signer.amendment({ participant, market: 'default', slot: sub.slot, side: 'ask', price: 150_000n, remainingWh: 700 }, { quantityWh: 500 }, sub.expiry, NOW);
    assert.equal(new OrderSigner(CHAIN).recover({ ...fields, quantityWh: 500, nonce: amend.nonce }, amend.signature), delegate);

    assert.equal(reopened.list(participant)[0].serverHeld, true);
    const wrongSecret = new DelegationService(store, CHAIN, 'another-secret-0123456789');
    await wrongSecret.load();
    assert.throws(() => wrongSecret.signerFor(participant, NOW));
  });
});
