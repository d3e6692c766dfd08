// Public surface of the chain adapter: embedded local chain, client from config, settlement outbox, trade proofs.
export { startEmbeddedChain, type EmbeddedChain, type EmbeddedChainOptions, type ChainAddresses, type ChainFile } from './local-chain.ts';
export { fundAndDeposit, type DemoParticipantFunding } from './demo-funding.ts';
export { chainConfigFromEnv, connectChain, type ChainClient, type ChainConfig } from './client.ts';
export { loadOperatorWallet, createOperatorKeystore } from './keystore.ts';
export { chainProvider } from './rpc.ts';
export { SettlementOutbox, type SettlementOutboxOptions, type OutboxEvents } from './outbox.ts';
export type { SettlementOutboxStore, SettlementBatch, OutboxEntry, OutboxStatus, OutboxRef, RewardRootEntry, RewardRootPublication } from './outbox-store.ts';
export { SqliteSettlementOutboxStore } from './outbox-sqlite.ts';
export { buildSettlementBatch } from './settlement-batch.ts';
export { buildTradeTree, tradeProof, tradeProofRouter, type ProvableTrade, type TradeProof, type TradeTree, type SlotTradesLookup } from './trade-proof.ts';
export { startChainAdapter, type ChainAdapter, type ChainAdapterOptions } from './adapter.ts';
