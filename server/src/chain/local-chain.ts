// Embedded local EVM (Hardhat 2.29.1 / EDR, in-process) on 127.0.0.1: deploys on first start, persists via a block journal.
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NonceManager, type Wallet } from 'ethers';
import { deployEnergyMarket, deployGridToken } from '@gridmesh/contracts-abi';
import { BlockJournal, rawTransactionOf, type JournaledBlock, type RpcTransaction } from './block-journal.ts';
import { createOperatorKeystore, loadOperatorWallet } from './keystore.ts';
import { chainProvider } from './rpc.ts';

const require = createRequire(import.meta.url);

interface Eip1193Provider extends EventEmitter {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}
interface HardhatJsonRpcServer {
  listen(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export interface ChainAddresses {
  gridToken: string;
  energyMarket: string;
  rewardToken: string;
}

/** Contents of <dataDir>/chain.json. */
export interface ChainFile {
  chainId: number;
  /** Genesis time (ISO); the same genesis is rebuilt on every start so replayed blocks hash the same. */
  genesisTime: string;
  hardfork: string;
  operator: string;
  keystore: string;
  addresses: ChainAddresses;
  withdrawalDelaySeconds: number;
  persistence: 'block-journal-replay';
  journal: string;
}

export interface EmbeddedChainOptions {
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  chainId?: number;
  /** Used only on first start. Default 900 s (one 15-minute slot). */
  withdrawalDelaySeconds?: number;
  /** Keystore password; default: CHAIN_KEYSTORE_PASSWORD, else a random one kept in <dataDir>/operator.password. */
  keystorePassword?: string;
}

export interface EmbeddedChain {
  rpcUrl: string;
  port: number;
  chainId: number;
  addresses: ChainAddresses;
  operator: Wallet;
  chainFile: ChainFile;
  /** Blocks replayed from the journal at start (0 on first start). */
  replayedBlocks: number;
  startupMs: number;
  stop(): Promise<void>;
}

const HARDFORK = 'osaka';
const OPERATOR_GENESIS_WEI = 10n ** 24n; // 1,000,000 ETH of local gas money
/** Methods that rewrite history or state outside transactions: a journal of blocks cannot reproduce them. */
const REFUSED_METHODS = new Set([
  'evm_revert',
  'hardhat_reset',
  'hardhat_setBalance',
  'hardhat_setCode',
  'hardhat_setNonce',
  'hardhat_setStorageAt',
  'hardhat_impersonateAccount',
  'hardhat_setCoinbase',
  'hardhat_setPrevRandao',
  'hardhat_setNextBlockBaseFeePerGas',
  'hardhat_dropTransaction',
  'evm_setIntervalMining',
  'evm_setAutomine',
]);
const BLOCK_PRODUCING_METHODS = new Set(['eth_sendRawTransaction', 'eth_sendTransaction', 'evm_mine', 'hardhat_mine']);

async function createHardhatProvider(chainId: number, genesisTime: Date, operatorKey: string): Promise<Eip1193Provider> {
  const { createHardhatNetworkProvider } = require('hardhat/internal/hardhat-network/provider/provider') as {
    createHardhatNetworkProvider(config: unknown, logger: { enabled: boolean }): Promise<Eip1193Provider>;
  };
  const { defaultHardhatNetworkParams } = require('hardhat/internal/core/config/default-config') as {
    defaultHardhatNetworkParams: { chains: unknown };
  };
  return createHardhatNetworkProvider(
    {
      hardfork: HARDFORK,
      chainId,
      networkId: chainId,
      blockGasLimit: 30_000_000,
      minGasPrice: 0n,
      automine: true,
      intervalMining: 0,
      mempoolOrder: 'fifo',
      chains: defaultHardhatNetworkParams.chains,
      genesisAccounts: [{ privateKey: operatorKey, balance: OPERATOR_GENESIS_WEI.toString() }],
      allowUnlimitedContractSize: false,
      throwOnTransactionFailures: false,
      throwOnCallFailures: true,
      allowBlocksWithSameTimestamp: true,
      initialBaseFeePerGas: 0,
      initialDate: genesisTime,
      enableTransientStorage: false,
      enableRip7212: false,
    },
    { enabled: false },
  );
}

class RefusedMethodError extends Error {
  readonly code = -32601;
}

/** EIP-1193 wrapper served over HTTP/WS: journals every new block before the request that produced it is answered. */
class JournalingProvider extends EventEmitter implements Eip1193Provider {
  private journaledHeight: number;
  private sync: Promise<void> = Promise.resolve();

  constructor(
    private readonly inner: Eip1193Provider,
    private readonly journal: BlockJournal,
    height: number,
  ) {
    super();
    this.journaledHeight = height;
    inner.on('notification', (n: unknown) => this.emit('notification', n));
  }

  async request(args: { method: string; params?: unknown[] }): Promise<unknown> {
    if (REFUSED_METHODS.has(args.method)) {
      throw new RefusedMethodError(`${args.method} is disabled on the embedded gridmesh chain (its state is persisted as a block journal)`);
    }
    if (!BLOCK_PRODUCING_METHODS.has(args.method)) return this.inner.request(args);
    try {
      return await this.inner.request(args);
    } finally {
      await this.journalNewBlocks();
    }
  }

  /** Serialized so concurrent sends append blocks in order. */
  journalNewBlocks(): Promise<void> {
    this.sync = this.sync.then(async () => {
      const latest = Number(await this.inner.request({ method: 'eth_blockNumber' }));
      const blocks: JournaledBlock[] = [];
      for (let n = this.journaledHeight + 1; n <= latest; n++) {
        const block = (await this.inner.request({ method: 'eth_getBlockByNumber', params: [`0x${n.toString(16)}`, true] })) as {
          hash: string;
          timestamp: string;
          transactions: RpcTransaction[];
        };
        blocks.push({ number: n, timestamp: Number(block.timestamp), hash: block.hash, txs: block.transactions.map(rawTransactionOf) });
      }
      this.journal.append(blocks);
      this.journaledHeight = latest;
    });
    return this.sync;
  }
}

/** Re-mines journaled blocks on a fresh chain with the same genesis; every block hash must match. */
async function replayJournal(provider: Eip1193Provider, blocks: JournaledBlock[]): Promise<void> {
  for (const block of blocks) {
    if (block.txs.length === 1) {
      await provider.request({ method: 'evm_setNextBlockTimestamp', params: [block.timestamp] });
      await provider.request({ method: 'eth_sendRawTransaction', params: [block.txs[0]] });
    } else {
      await provider.request({ method: 'evm_setAutomine', params: [false] });
      for (const raw of block.txs) await provider.request({ method: 'eth_sendRawTransaction', params: [raw] });
      await provider.request({ method: 'evm_mine', params: [block.timestamp] });
      await provider.request({ method: 'evm_setAutomine', params: [true] });
    }
    const mined = (await provider.request({ method: 'eth_getBlockByNumber', params: ['latest', false] })) as { hash: string; number: string };
    if (Number(mined.number) !== block.number || mined.hash !== block.hash) {
      throw new Error(`chain journal replay diverged at block ${block.number}: expected ${block.hash}, got ${mined.hash} (#${Number(mined.number)})`);
    }
  }
}

function keystorePasswordFor(dataDir: string, explicit: string | undefined): string {
  if (explicit) return explicit;
  if (process.env.CHAIN_KEYSTORE_PASSWORD) return process.env.CHAIN_KEYSTORE_PASSWORD;
  const file = join(dataDir, 'operator.password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * Starts the embedded chain. First start: new operator keystore, genesis now, GridToken + EnergyMarket deployed,
 * addresses written to <dataDir>/chain.json. Later starts: same genesis, journal replayed, so balances, settled slots
 * and reward roots are exactly as before the stop.
 */
export async function startEmbeddedChain(options: EmbeddedChainOptions): Promise<EmbeddedChain> {
  const started = performance.now();
  const dataDir = options.dataDir;
  mkdirSync(dataDir, { recursive: true });
  const chainFilePath = join(dataDir, 'chain.json');
  const journal = new BlockJournal(join(dataDir, 'chain-blocks.ndjson'));
  const password = keystorePasswordFor(dataDir, options.keystorePassword);
  const firstStart = !existsSync(chainFilePath);

  let chainFile: ChainFile | undefined;
  let operator: Wallet;
  let genesisTime: Date;
  let chainId: number;
  if (firstStart) {
    // A crash during a previous first start leaves a partial journal: start over from a clean genesis.
    rmSync(journal.path, { force: true });
    const keystore = join(dataDir, 'operator-keystore.json');
    operator = existsSync(keystore) ? await loadOperatorWallet(keystore, password) : createOperatorKeystore(keystore, password);
    genesisTime = new Date(Math.floor(Date.now() / 1000) * 1000);
    chainId = options.chainId ?? 31337;
  } else {
    chainFile = JSON.parse(readFileSync(chainFilePath, 'utf8')) as ChainFile;
    operator = await loadOperatorWallet(join(dataDir, chainFile.keystore), password);
    genesisTime = new Date(chainFile.genesisTime);
    chainId = chainFile.chainId;
  }

  const hardhat = await createHardhatProvider(chainId, genesisTime, operator.privateKey);
  const history = journal.readAll();
  await replayJournal(hardhat, history);
  // Replayed blocks carry old timestamps; let the next block follow the wall clock again.
  const lastTimestamp = history.length ? history[history.length - 1].timestamp : Math.floor(genesisTime.getTime() / 1000);
  await hardhat.request({ method: 'evm_setNextBlockTimestamp', params: [Math.max(lastTimestamp, Math.floor(Date.now() / 1000))] });

  const provider = new JournalingProvider(hardhat, journal, history.length ? history[history.length - 1].number : 0);
  const { JsonRpcServer } = require('hardhat/internal/hardhat-network/jsonrpc/server') as {
    JsonRpcServer: new (config: { hostname: string; port: number; provider: Eip1193Provider }) => HardhatJsonRpcServer;
  };
  const server = new JsonRpcServer({ hostname: '127.0.0.1', port: options.port ?? 0, provider });
  const { port } = await server.listen();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await server.close();
    await provider.journalNewBlocks();
    journal.close();
  };

  try {
    if (!chainFile) {
      const rpc = chainProvider(rpcUrl, chainId);
      const signer = new NonceManager(operator.connect(rpc));
      const gridToken = await deployGridToken(signer, operator.address);
      const withdrawalDelaySeconds = options.withdrawalDelaySeconds ?? 900;
      const market = await deployEnergyMarket(signer, {
        paymentToken: await gridToken.getAddress(),
        admin: operator.address,
        operator: operator.address,
        withdrawalDelaySeconds,
      });
      chainFile = {
        chainId,
        genesisTime: genesisTime.toISOString(),
        hardfork: HARDFORK,
        operator: operator.address,
        keystore: 'operator-keystore.json',
        addresses: { gridToken: await gridToken.getAddress(), energyMarket: await market.getAddress(), rewardToken: await market.rewardToken() },
        withdrawalDelaySeconds,
        persistence: 'block-journal-replay',
        journal: 'chain-blocks.ndjson',
      };
      rpc.destroy();
      await provider.journalNewBlocks();
      // Written last: its presence means "deployed and journaled".
      writeFileSync(chainFilePath, `${JSON.stringify(chainFile, null, 2)}\n`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    rpcUrl,
    port,
    chainId,
    addresses: chainFile.addresses,
    operator,
    chainFile,
    replayedBlocks: history.length,
    startupMs: performance.now() - started,
    stop,
  };
}
