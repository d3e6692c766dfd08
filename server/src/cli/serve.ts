// Entry point: `tsx server/src/cli/serve.ts` starts the server from env + config file (and a chain when configured); SIGINT/SIGTERM shut it down gracefully.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { configFromEnv } from '../config.ts';
import { pinoLogger, startServer, type ServerOptions } from '../server.ts';
import { startChainAdapter, type ChainAdapter } from '../chain/index.ts';
import { chainServerOptions } from '../chain-settlement.ts';
import { SERVER_NODE_FLAGS, serverNodeFlagsGiven } from './node-flags.ts';

const log = pinoLogger();
if (!serverNodeFlagsGiven()) {
  log.info('started without the server\'s Node.js flags: under heavy order load V8 collects garbage more often, and its full collections lengthen the order latency tail (npm run serve passes them)', { flags: SERVER_NODE_FLAGS.join(' ') });
}
let chain: ChainAdapter | null = null;
try {
  const config = configFromEnv();
  // CHAIN_RPC_URL: settle on that chain; GRIDMESH_CHAIN=embedded: a local EVM in the data dir; otherwise the server's ledger only.
  const mode = process.env.CHAIN_RPC_URL ? 'rpc' : process.env.GRIDMESH_CHAIN === 'embedded' ? 'embedded' : 'none';
  let options: ServerOptions = {};
  if (mode !== 'none') {
    mkdirSync(config.dataDir, { recursive: true });
    chain = await startChainAdapter({
      dataDir: join(config.dataDir, 'chain'),
      outboxDb: join(config.dataDir, 'outbox.db'),
      events: {
        confirmed: (e) => log.info('slot settled on chain', { slot: e.slotId, trades: e.tradesCount, txHash: e.txHash, gasUsed: e.gasUsed?.toString() }),
        failed: (e) => log.error('slot settlement refused by the contract', { slot: e.slotId, error: e.lastError }),
        rewardRootConfirmed: (e) => log.info('reward epoch published', { epoch: e.epoch, toSlot: e.toSlot, txHash: e.txHash }),
        rewardRootFailed: (e) => log.error('reward root refused by the contract', { epoch: e.epoch, error: e.lastError }),
        retry: (ref, error, retryInMs) => log.error('chain send failed; retrying', { ref, error, retryInMs }),
      },
    });
    const { client } = chain;
    // Asked from the node itself: a wrong CHAIN_ID would make every reading and order signed for another chain.
    const nodeChainId = Number(await client.provider.send('eth_chainId', []));
    if (nodeChainId !== config.chainId) throw new Error(`CHAIN_ID is ${config.chainId} but the node at ${chain.rpcUrl} is chain ${nodeChainId}`);
    const withdrawalDelaySeconds = Number(await client.market.withdrawalDelay());
    const info = { chainId: chain.chainId, rpcUrl: chain.rpcUrl, embedded: chain.embedded, operator: client.operator.address, addresses: chain.addresses, withdrawalDelaySeconds };
    options = {
      ...chainServerOptions({ market: client.market, outbox: chain.outbox, outboxStore: chain.store, rewardEpochMs: config.rewardEpochMs, log }),
      chain: () => info,
    };
    log.info('chain connected', { rpcUrl: chain.rpcUrl, embedded: chain.embedded, energyMarket: chain.addresses.energyMarket, operator: client.operator.address });
  }
  const server = await startServer(config, log, options);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    // A hung close must not keep the process alive forever.
    setTimeout(() => process.exit(1), 10_000).unref();
    await server.close();
    await chain?.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  console.error(`gridmesh server failed to start: ${err instanceof Error ? err.message : String(err)}`);
  // Release the chain's files and sockets, but never hang the exit on a node that misbehaves.
  await Promise.race([chain?.stop().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
  process.exit(1);
}
