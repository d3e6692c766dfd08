// `npm run serve` with a chain: the embedded local EVM (GRIDMESH_CHAIN=embedded) or any node at CHAIN_RPC_URL with an
// operator keystore; a CHAIN_ID the node does not have stops the start with a message and exit code ≠ 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEmbeddedChain, type EmbeddedChain } from '../../server/src/chain/index.ts';
import { repoRoot, startServerProcess, tempDir, type ServerProcess } from '../helpers/processes.ts';

async function get(url: string): Promise<any> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${res.status}`);
  return res.json();
}

describe('serve with a chain (real processes, real local EVM)', function () {
  this.timeout(120_000);
  const dir = tempDir('serve-chain');
  let server: ServerProcess | undefined;
  let chain: EmbeddedChain | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  after(async () => {
    await chain?.stop();
    dir.remove();
  });

  it('GRIDMESH_CHAIN=embedded: starts a local EVM in the data dir and serves its deployment', async () => {
    server = await startServerProcess({ GRIDMESH_DATA_DIR: join(dir.path, 'embedded'), GRIDMESH_CHAIN: 'embedded', GRIDMESH_MARKET_PRESET: 'demo' });
    const info = await get(`${server.url}/api/chain`);
    assert.equal(info.embedded, true);
    assert.match(info.addresses.energyMarket, /^0x[0-9a-fA-F]{40}$/);
    assert.match(info.operator, /^0x[0-9a-fA-F]{40}$/);
    const ops = await get(`${server.url}/api/operator`);
    assert.deepEqual(ops.rewardEpochs, []);
    assert.equal(ops.settlement.outboxDepth, 0);
  });

  it('CHAIN_RPC_URL: connects to an existing deployment with an encrypted operator keystore', async () => {
    const chainDir = join(dir.path, 'node');
    chain = await startEmbeddedChain({ dataDir: chainDir });
    server = await startServerProcess({
      GRIDMESH_DATA_DIR: join(dir.path, 'rpc'), GRIDMESH_MARKET_PRESET: 'demo',
      CHAIN_RPC_URL: chain.rpcUrl, CHAIN_ID: String(chain.chainId), CHAIN_ADDRESSES: join(chainDir, 'chain.json'),
      CHAIN_KEYSTORE: join(chainDir, 'operator-keystore.json'), CHAIN_KEYSTORE_PASSWORD_FILE: join(chainDir, 'operator.password'),
    });
    const info = await get(`${server.url}/api/chain`);
    assert.equal(info.embedded, false);
    assert.equal(info.rpcUrl, chain.rpcUrl);
    assert.equal(info.addresses.energyMarket, chain.addresses.energyMarket);
    assert.equal(info.operator, chain.operator.address);
  });

  it('refuses to start when CHAIN_ID differs from the node or the keystore is missing', async () => {
    assert.ok(chain, 'the node from the previous test runs');
    const chainDir = join(dir.path, 'node');
    const base = {
      ...process.env, PORT: '0', MONGODB_URI: '', GRIDMESH_DATA_DIR: join(dir.path, 'bad'), CHAIN_RPC_URL: chain!.rpcUrl,
      CHAIN_ADDRESSES: join(chainDir, 'chain.json'), CHAIN_KEYSTORE: join(chainDir, 'operator-keystore.json'), CHAIN_KEYSTORE_PASSWORD_FILE: join(chainDir, 'operator.password'),
    };
    // Not spawnSync: the node runs in this process and must keep answering while the server starts.
    const serve = (env: NodeJS.ProcessEnv) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server/src/cli/serve.ts')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('close', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
    });
    const wrongId = await serve({ ...base, CHAIN_ID: '1' });
    assert.notEqual(wrongId.status, 0);
    assert.match(wrongId.stderr, /CHAIN_ID is 1 but the node at .* is chain 31337/);
    const noKeystore = await serve({ ...base, CHAIN_ID: '31337', CHAIN_KEYSTORE: join(chainDir, 'missing.json') });
    assert.notEqual(noKeystore.status, 0);
    assert.match(noKeystore.stderr, /operator keystore not found/);
  });
});
