// One call for the server: embedded chain (default) or CHAIN_RPC_URL, chain client, settlement outbox started, demo funding once.
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { chainClientFor, chainConfigFromEnv, connectChain, type ChainClient, type ChainConfig } from './client.ts';
import { fundAndDeposit, type DemoParticipantFunding } from './demo-funding.ts';
import { startEmbeddedChain, type ChainAddresses, type EmbeddedChain } from './local-chain.ts';
import { SettlementOutbox, type OutboxEvents } from './outbox.ts';
import { SqliteSettlementOutboxStore } from './outbox-sqlite.ts';

export interface ChainAdapterOptions {
  /** Holds chain.json, the block journal and the operator keystore of the embedded chain. */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** Embedded chain port on 127.0.0.1 (0 = any free port). */
  port?: number;
  /** Outbox persistence: the server's SQLite handle, or a file path (default <dataDir>/settlement-outbox.sqlite). */
  outboxDb?: Database.Database | string;
  /** Funded and deposited on the embedded chain's first start only (a restart keeps balances from the journal). */
  demoParticipants?: readonly DemoParticipantFunding[];
  withdrawalDelaySeconds?: number;
  events?: OutboxEvents;
}

export interface ChainAdapter {
  embedded: boolean;
  rpcUrl: string;
  chainId: number;
  addresses: ChainAddresses;
  client: ChainClient;
  outbox: SettlementOutbox;
  store: SqliteSettlementOutboxStore;
  /** True when this start deployed the contracts (and funded the demo participants). */
  firstStart: boolean;
  stop(): Promise<void>;
}

export async function startChainAdapter(o: ChainAdapterOptions): Promise<ChainAdapter> {
  const env = o.env ?? process.env;
  const external = chainConfigFromEnv(env);
  let embedded: EmbeddedChain | undefined;
  let config: ChainConfig;
  if (external) {
    config = external;
  } else {
    embedded = await startEmbeddedChain({ dataDir: o.dataDir, port: o.port, withdrawalDelaySeconds: o.withdrawalDelaySeconds });
    config = {
      rpcUrl: embedded.rpcUrl,
      chainId: embedded.chainId,
      keystorePath: join(o.dataDir, embedded.chainFile.keystore),
      keystorePassword: '',
      confirmations: 1,
      addresses: embedded.addresses,
    };
  }
  // The embedded chain already holds the decrypted operator wallet: no second scrypt round.
  const client = embedded ? chainClientFor(config, embedded.operator) : await connectChain(config);
  const firstStart = embedded !== undefined && embedded.replayedBlocks === 0;
  if (firstStart && o.demoParticipants?.length) await fundAndDeposit(client.operator, config.addresses, o.demoParticipants);
  const store = new SqliteSettlementOutboxStore(o.outboxDb ?? join(o.dataDir, 'settlement-outbox.sqlite'));
  const outbox = new SettlementOutbox({
    store,
    market: client.market,
    operator: client.operator,
    confirmations: config.confirmations,
    fromBlock: config.fromBlock,
    events: o.events,
  });
  outbox.start();
  return {
    embedded: embedded !== undefined,
    rpcUrl: config.rpcUrl,
    chainId: config.chainId,
    addresses: config.addresses,
    client,
    outbox,
    store,
    firstStart,
    async stop() {
      await outbox.stop();
      store.close();
      client.close();
      await embedded?.stop();
    },
  };
}

