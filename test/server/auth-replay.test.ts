// Sign-in (EIP-4361) and its failures, session revocation, rate limiting, OpenAPI, and rebuild of open books by journal replay.
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { T0, call, makeHome, signIn, signInMessage, signOrder, startTestServer, type TestServer } from './helpers.ts';

describe('server: sign-in with Ethereum and sessions', function () {
  let t: TestServer;
  before(async () => { t = await startTestServer(); });
  after(async () => { await t?.close(); });

  it('issues a bearer token and an httpOnly cookie for a valid signed message; me and logout', async () => {
    const wallet = Wallet.createRandom();
    const res = await call(t.url, 'POST', '/api/auth/verify', await signInMessage(t.url, wallet));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.address, wallet.address.toLowerCase());
    assert.match(res.headers.get('set-cookie') ?? '', /gridmesh_session=.*HttpOnly/i);
    const me = await call(t.url, 'GET', '/api/auth/me', undefined, res.body.token);
    assert.equal(me.body.address, wallet.address.toLowerCase());
    // The cookie alone authenticates too.
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
    const viaCookie = await fetch(`${t.url}/api/auth/me`, { headers: { cookie } });
    assert.equal(viaCookie.status, 200);
    assert.equal((await call(t.url, 'POST', '/api/auth/logout', undefined, res.body.token)).status, 204);
    assert.equal((await call(t.url, 'GET', '/api/auth/me', undefined, res.body.token)).status, 401, 'a logged-out token is refused');
  });

  it('refuses a wrong signer, a reused or unknown nonce, another domain or chain, and forged tokens', async () => {
    const wallet = Wallet.createRandom();
    const signed = await signInMessage(t.url, wallet);
    const other = await Wallet.createRandom().signMessage(signed.message);
    const wrong = await call(t.url, 'POST', '/api/auth/verify', { message: signed.message, signature: other });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.code, 'BAD_SIGNATURE');
    assert.equal((await call(t.url, 'POST', '/api/auth/verify', signed)).status, 200);
    const reused = await call(t.url, 'POST', '/api/auth/verify', signed);
    assert.equal(reused.status, 401, 'a nonce is single-use');
    assert.equal((await call(t.url, 'POST', '/api/auth/verify', await signInMessage(t.url, wallet, { nonce: 'neverissued1' }))).status, 401);
    const domain = await call(t.url, 'POST', '/api/auth/verify', await signInMessage(t.url, wallet, { domain: 'evil.example' }));
    assert.equal(domain.status, 401);
    assert.match(domain.body.message, /domain/);
    assert.equal((await call(t.url, 'POST', '/api/auth/verify', await signInMessage(t.url, wallet, { chainId: 1 }))).status, 401);
    const garbage = await call(t.url, 'POST', '/api/auth/verify', { message: 'hello', signature: signed.signature });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.fields[0].field, '/message');
    const missing = await call(t.url, 'POST', '/api/auth/verify', { message: signed.message });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.fields[0].field, '/signature');
    const token = await signIn(t.url, wallet);
    const forged = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    assert.equal((await call(t.url, 'GET', '/api/auth/me', undefined, forged)).status, 401);
    assert.equal((await call(t.url, 'GET', '/api/auth/me')).status, 401);
  });

  it('serves an OpenAPI 3.1 document built from the wire schemas', async () => {
    const doc = await call(t.url, 'GET', '/api/openapi.json');
    assert.equal(doc.body.openapi, '3.1.0');
    assert.ok(doc.body.components.schemas.OrderSubmission.properties.signature);
    assert.equal(doc.body.paths['/api/orders'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/OrderSubmission');
  });
});

describe('server: rate limiter', function () {
  it('answers 429 RATE_LIMITED with Retry-After once a client exceeds its budget', async () => {
    const t = await startTestServer({ env: { GRIDMESH_RATE_LIMIT_RPS: '5' } });
    try {
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof call>> | null = null;
      for (let i = 0; i < 30; i++) {
        const r = await call(t.url, 'GET', '/api/markets');
        statuses.push(r.status);
        if (r.status === 429) { limited = r; break; }
      }
      assert.ok(limited, `never limited: ${statuses.join(',')}`);
      assert.equal(limited.body.code, 'RATE_LIMITED');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    } finally {
      await t.close();
    }
  });
});

describe('server: journal replay on restart', function () {
  for (const mechanism of ['continuous', 'call'] as const) {
    it(`rebuilds the open books of a ${mechanism} market equal to the books before the restart`, async () => {
      const first = await startTestServer({ market: { mechanism } });
      const slot = T0 + 5 * 60_000;
      const homes = [await makeHome(first.url, 'A', 60_000), await makeHome(first.url, 'B', 60_000), await makeHome(first.url, 'C', 60_000)];
      const placed: string[] = [];
      for (let i = 0; i < 24; i++) {
        const home = homes[i % 3];
        const side = i % 2 === 0 ? 'ask' : 'bid';
        const price = String(side === 'ask' ? 150_000 + ((i * 7) % 9) * 1000 : 145_000 + ((i * 5) % 11) * 1000);
        const r = await call(first.url, 'POST', '/api/orders', await signOrder(home, { slot: slot + (i % 2) * 60_000, side, price, quantityWh: 10 + i }), home.token);
        if (r.status === 201) placed.push(r.body.order.id);
        first.clock.advance(1000);
        if (i % 6 === 5 && placed.length) {
          const victim = placed.shift()!;
          const owner = homes.find((h) => victim.startsWith(h.wallet.address.toLowerCase()))!;
          await call(first.url, 'DELETE', `/api/orders/${victim}`, undefined, owner.token);
        }
      }
      const books = async (url: string) => Promise.all([slot, slot + 60_000].map(async (s) => (await call(url, 'GET', `/api/markets/demo/slots/${s}/book?depth=100`)).body));
      const before = await books(first.url);
      const rtBefore = first.server.markets.get('demo')!;
      const openBefore = homes.map((h) => rtBefore.market.openOrders(h.wallet.address.toLowerCase()));
      const now = first.clock.now();
      await first.close(false);

      const second = await startTestServer({ market: { mechanism }, dataDir: first.dataDir, start: now });
      try {
        const after = await books(second.url);
        assert.deepEqual(after.map(({ seq: _s, ...b }: any) => b), before.map(({ seq: _s, ...b }: any) => b));
        const rt = second.server.markets.get('demo')!;
        assert.deepEqual(homes.map((h) => rt.market.openOrders(h.wallet.address.toLowerCase())), openBefore, 'same orders, same priority ranks');
      } finally {
        await second.close();
      }
    });
  }
});

describe('server: trade rules and delegated session keys over REST', function () {
  it('stores a participant\'s rules, authorises a server-held session key by EIP-712, and keeps both private', async () => {
    const t = await startTestServer();
    try {
      const home = await makeHome(t.url, 'Rules home', 10_000);
      const other = await makeHome(t.url, 'Other', 10_000);
      const put = await call(t.url, 'PUT', '/api/participants/me/rules', { rules: [{ meter: home.meter, enabled: true, minSellPrice: '120000', maxBuyPrice: '250000' }] }, home.token);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.rules[0].minSellPrice, '120000');
      const foreign = await call(t.url, 'PUT', '/api/participants/me/rules', { rules: [{ meter: other.meter, enabled: true, minSellPrice: '120000', maxBuyPrice: null }] }, home.token);
      assert.equal(foreign.status, 403);
      assert.equal((await call(t.url, 'GET', `/api/participants/${home.wallet.address}/rules`, undefined, other.token)).status, 403);
      const offer = await call(t.url, 'GET', '/api/participants/me/delegation', undefined, home.token);
      assert.equal(offer.status, 200, JSON.stringify(offer.body));
      const { domain, types, message } = offer.body.typedData;
      const signature = await home.wallet.signTypedData(domain, types, message);
      const granted = await call(t.url, 'POST', '/api/participants/me/delegation', { sessionKey: offer.body.sessionKey, expiry: offer.body.expiry, signature }, home.token);
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      assert.equal(granted.body.encryptedKey, undefined, 'the sealed key never leaves the server');
      const got = await call(t.url, 'GET', '/api/participants/me/rules', undefined, home.token);
      assert.equal(got.body.delegation.delegate, offer.body.sessionKey.toLowerCase());
      assert.equal(t.server.delegations.isAuthorisedSigner(home.wallet.address, offer.body.sessionKey, t.clock.now()), true);
      const bad = await call(t.url, 'POST', '/api/participants/me/delegation', { sessionKey: offer.body.sessionKey, expiry: offer.body.expiry, signature: await other.wallet.signTypedData(domain, types, message) }, home.token);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, 'BAD_SIGNATURE');
    } finally {
      await t.close();
    }
  });
});
