// Bad REST bodies get 400 with a JSON error naming the offending field; never a 500 or a stack trace.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { METER_ROLES, MeterBindingTypes, ParticipantTypes, gridmeshDomain } from '@gridmesh/contracts-abi';
import { configFromEnv } from '../../server/src/config.ts';
import { startServer, type GridmeshServer } from '../../server/src/server.ts';
import { tempDir } from '../helpers/processes.ts';

const quiet = { info: () => {}, error: () => {} };

describe('server REST: errors name the field', () => {
  const dir = tempDir('rest');
  let server: GridmeshServer;
  const owner = Wallet.createRandom();
  const domain = gridmeshDomain(31337);

  const post = async (path: string, body: string | object) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    assert.doesNotMatch(text, /at .*\.ts:\d+/, 'no stack trace in a response');
    return { status: res.status, body: JSON.parse(text) as { code: string; message: string; fields?: { field: string; message: string }[] } };
  };
  const fields = (b: { fields?: { field: string }[] }) => (b.fields ?? []).map((f) => f.field).sort();

  before(async () => {
    server = await startServer(configFromEnv({}, { port: 0, dataDir: dir.path, sqlitePath: join(dir.path, 'db.sqlite'), webDir: undefined, mongodbUri: undefined }), quiet);
  });
  after(async () => {
    await server.close();
    server.http.close();
    dir.remove();
  });

  it('malformed JSON → 400 VALIDATION', async () => {
    const res = await post('/api/participants', '{"address": ');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION');
  });

  it('missing and mistyped fields are all named', async () => {
    const res = await post('/api/participants', { address: 'nope', name: 42 });
    assert.equal(res.status, 400);
    assert.deepEqual(fields(res.body), ['/address', '/name', '/signature']);
  });

  it('unknown fields are named', async () => {
    const res = await post('/api/participants', { address: owner.address, name: 'x', signature: '0x' + '11'.repeat(65), admin: true });
    assert.equal(res.status, 400);
    assert.deepEqual(fields(res.body), ['/admin']);
  });

  it('a signature that does not recover to the address → 400 naming /signature', async () => {
    const other = Wallet.createRandom();
    const signature = await other.signTypedData(domain, ParticipantTypes, { participant: owner.address, name: 'Mallory' });
    const res = await post('/api/participants', { address: owner.address, name: 'Mallory', signature });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'BAD_SIGNATURE');
    assert.deepEqual(fields(res.body), ['/signature']);
  });

  it('meter binding: unknown owner → 404; bound to another owner → 409; bad role → 400', async () => {
    const meter = Wallet.createRandom().address;
    const bind = async (w: typeof owner, nonce = 1) => ({
      meter, owner: w.address, role: 'grid', capacityW: 5000, nonce,
      signature: await w.signTypedData(domain, MeterBindingTypes, { meter, owner: w.address, role: METER_ROLES.indexOf('grid'), capacityW: 5000, nonce }),
    });
    assert.equal((await post('/api/meters', await bind(owner))).status, 404);
    for (const w of [owner]) {
      const reg = await post('/api/participants', { address: w.address, name: 'Owner', signature: await w.signTypedData(domain, ParticipantTypes, { participant: w.address, name: 'Owner' }) });
      assert.equal(reg.status, 201);
    }
    assert.equal((await post('/api/meters', await bind(owner))).status, 201);
    const thief = Wallet.createRandom();
    await post('/api/participants', { address: thief.address, name: 'Thief', signature: await thief.signTypedData(domain, ParticipantTypes, { participant: thief.address, name: 'Thief' }) });
    const stolen = await post('/api/meters', await bind(thief));
    assert.equal(stolen.status, 409);
    assert.deepEqual(fields(stolen.body), ['/meter']);
    const badRole = await post('/api/meters', { ...(await bind(owner, 2)), role: 'nuclear' });
    assert.equal(badRole.status, 400);
    assert.deepEqual(fields(badRole.body), ['/role']);
  });

  it('bad query and path parameters → 400 naming them; unknown routes → 404 JSON', async () => {
    const bad = await fetch(`${server.url}/api/meters/not-an-address/readings`);
    assert.equal(bad.status, 400);
    assert.deepEqual(fields((await bad.json()) as { fields: { field: string }[] }), ['/params/meter']);
    const meter = Wallet.createRandom().address;
    const q = await fetch(`${server.url}/api/meters/${meter}/readings?limit=abc`);
    assert.equal(q.status, 404, 'unknown meter is checked first');
    const none = await fetch(`${server.url}/api/nothing-here`);
    assert.equal(none.status, 404);
    assert.equal(((await none.json()) as { code: string }).code, 'NOT_FOUND');
  });
});
