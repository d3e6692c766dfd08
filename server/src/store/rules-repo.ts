// Store port for set-and-forget trade rules (per participant per meter) and delegated session keys (EIP-712 Delegation).
import type { Address, Hex } from '@gridmesh/contracts-abi';

export interface TradeRuleRecord {
  participant: Address;
  /** The grid-connection meter whose surplus/deficit the rule trades. */
  meter: Address;
  market: string;
  /** Sell surplus at no less than this price (token base units per kWh, decimal string); null = do not sell. */
  minSellPrice: string | null;
  /** Buy deficit at no more than this price; null = do not buy. */
  maxBuyPrice: string | null;
  enabled: boolean;
  updatedAt: number;
}

export interface DelegationRecord {
  participant: Address;
  delegate: Address;
  /** Unix ms after which the delegate may no longer sign for the participant. */
  expiry: number;
  /** The participant's EIP-712 `Delegation` signature (null while the server-made session key awaits it). */
  signature: Hex | null;
  /** Server-held session key, encrypted (AES-256-GCM, base64); null for a delegate the participant holds itself. */
  encryptedKey: string | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface RulesRepo {
  /** Creates or replaces the rule of (participant, meter). */
  upsertRule(rule: TradeRuleRecord): Promise<TradeRuleRecord>;
  rule(participant: Address, meter: Address): Promise<TradeRuleRecord | null>;
  /** All rules (of one participant when given), by participant then meter. */
  rules(participant?: Address): Promise<TradeRuleRecord[]>;
  removeRule(participant: Address, meter: Address): Promise<boolean>;

  /** Creates or replaces the delegation of (participant, delegate). */
  putDelegation(d: DelegationRecord): Promise<DelegationRecord>;
  delegation(participant: Address, delegate: Address): Promise<DelegationRecord | null>;
  /** All delegations (of one participant when given), by participant then createdAt. */
  delegations(participant?: Address): Promise<DelegationRecord[]>;
  revokeDelegation(participant: Address, delegate: Address, at: number): Promise<boolean>;
}
