// `npm run serve` with a chain: the embedded local EVM (GRIDMESH_CHAIN=embedded) or any node at CHAIN_RPC_URL with an
// operator keystore; a CHAIN_ID the node does not have stops the start with a message and exit code ≠ 0. And
// `npm run chain:deploy` puts a fresh deployment on a node and writes the file serve reads as CHAIN_ADDRESSES.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedChain, type EmbeddedChain } from '../../server/src/chain/index.ts';
import { repoRoot, startServerProcess, tempDir, type ServerProcess } from '../helpers/processes.ts';

/** Runs a CLI to its exit without blocking this process (the chain node runs in it and must keep answering). */
function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, script), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

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
    const serve = (env: NodeJS.ProcessEnv) => runCli('server/src/cli/serve.ts', [], env);
    const wrongId = await serve({ ...base, CHAIN_ID: '1' });
    assert.notEqual(wrongId.status, 0);
    assert.match(wrongId.stderr, /CHAIN_ID is 1 but the node at .* is chain 31337/);
    const noKeystore = await serve({ ...base, CHAIN_ID: '31337', CHAIN_KEYSTORE: join(chainDir, 'missing.json') });
    assert.notEqual(noKeystore.status, 0);
    assert.match(noKeystore.stderr, /operator keystore not found/);
  });

  it('chain:deploy deploys a market with its own payment token and writes the file serve connects with', async () => {
    assert.ok(chain, 'the node from the previous tests runs');
    const chainDir = join(dir.path, 'node');
    const out = join(dir.path, 'deployment.json');
    const common = ['--rpc', chain!.rpcUrl, '--keystore', join(chainDir, 'operator-keystore.json'), '--password-file', join(chainDir, 'operator.password')];
    const bad = await runCli('server/src/cli/deploy.ts', [...common, '--chain-id', '31337', '--operator', '0x1234', '--out', out]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--operator must be an address/);
    const deployed = await runCli('server/src/cli/deploy.ts', [...common, '--chain-id', '31337', '--withdrawal-delay', '60', '--out', out]);
    assert.equal(deployed.status, 0, deployed.stderr);
    const record = JSON.parse(readFileSync(out, 'utf8'));
    assert.notEqual(record.addresses.energyMarket, chain!.addresses.energyMarket, 'a new deployment');
    assert.equal(record.operator, chain!.operator.address);
    const again = await runCli('server/src/cli/deploy.ts', [...common, '--chain-id', '31337', '--out', out]);
    assert.equal(again.status, 2, 'never overwrites a deployment record');

    server = await startServerProcess({
      GRIDMESH_DATA_DIR: join(dir.path, 'deployed'), GRIDMESH_MARKET_PRESET: 'demo', CHAIN_RPC_URL: chain!.rpcUrl, CHAIN_ID: '31337',
      CHAIN_ADDRESSES: out, CHAIN_KEYSTORE: join(chainDir, 'operator-keystore.json'), CHAIN_KEYSTORE_PASSWORD_FILE: join(chainDir, 'operator.password'),
    });
    const info = await get(`${server.url}/api/chain`);
    assert.deepEqual(info.addresses, record.addresses);
    assert.equal(info.withdrawalDelaySeconds, 60);
  });
});
