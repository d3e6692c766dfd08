// Escrow balances for the bid risk check: read from EnergyMarket on chain (cached, refreshed) or a local ledger without a chain.
import type { Address, EnergyMarket } from '@gridmesh/contracts-abi';

export interface EscrowView {
  balance: bigint;
  pendingWithdrawal: bigint;
  withdrawableAt: number | null;
  source: 'chain' | 'ledger';
}

export interface EscrowSource {
  /** Cached usable balance (escrow minus requested withdrawals); synchronous for the engine's risk predicate. */
  balance(participant: Address): bigint | null;
  /** Refresh one participant's cached balance if it is older than `maxAgeMs`. */
  refresh(participant: Address, maxAgeMs?: number): Promise<void>;
  read(participant: Address): Promise<EscrowView>;
}

/** Without a chain: every participant has the same configured allowance (demo/dev only). */
export class LedgerEscrow implements EscrowSource {
  constructor(private readonly allowance: bigint) {}
  balance(): bigint { return this.allowance; }
  async refresh(): Promise<void> {}
  async read(): Promise<EscrowView> { return { balance: this.allowance, pendingWithdrawal: 0n, withdrawableAt: null, source: 'ledger' }; }
}

export class ChainEscrow implements EscrowSource {
  private readonly cache = new Map<string, { usable: bigint; at: number }>();

  constructor(private readonly market: EnergyMarket, private readonly now: () => number = Date.now) {}

  balance(participant: Address): bigint | null {
    return this.cache.get(participant.toLowerCase())?.usable ?? null;
  }

  async read(participant: Address): Promise<EscrowView> {
    const [escrow, pending] = await Promise.all([this.market.escrowOf(participant), this.market.pendingWithdrawal(participant)]);
    const usable = escrow - pending.amount;
    this.cache.set(participant.toLowerCase(), { usable: usable < 0n ? 0n : usable, at: this.now() });
    return { balance: escrow, pendingWithdrawal: pending.amount, withdrawableAt: pending.amount > 0n ? Number(pending.readyAt) * 1000 : null, source: 'chain' };
  }

  async refresh(participant: Address, maxAgeMs = 2000): Promise<void> {
    const cached = this.cache.get(participant.toLowerCase());
    if (cached && this.now() - cached.at < maxAgeMs) return;
    await this.read(participant);
  }
}
