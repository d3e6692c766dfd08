// My home: live power, per-slot energy, self-sufficiency, money, settlements, escrow and rewards, meter health, trade rules, CSV export.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlignedData, Options } from 'uplot';
import { Gauge } from '../charts/gauge.tsx';
import { SlotBars, type SlotEnergy } from '../charts/slot-bars.tsx';
import { UPlotChart } from '../charts/uplot-chart.tsx';
import { api, ApiError, downloadCsv, fieldErrors, get, isMissing } from '../lib/api.ts';
import { centsString, fmtAge, fmtKWh, fmtPrice, fmtReward, fmtTime, fmtTimeS, fmtToken, fmtW, fmtWh, parseCents, parseToken, shortAddr } from '../lib/format.ts';
import { useFetched, useMarketLive, useNow } from '../lib/hooks.ts';
import type { ChainInfo, Escrow, MarketInfo, MeterSummary, ParticipantSettlement, ReadingBucket, Rewards, Trade, TradeRule } from '../lib/wire.ts';
import { useSession } from '../session-bar.tsx';
import { chainKey, type Session } from '../session.ts';

type MyTrade = Trade & { side: 'buy' | 'sell' };
const PERIODS = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 } as const;
type Period = keyof typeof PERIODS;
const HISTORY_MS = 30 * 60_000;

const powerOptions: Omit<Options, 'width' | 'height'> = {
  scales: { x: { time: true } },
  axes: [{}, { label: 'W', values: (_u, vals) => vals.map((v) => fmtW(v)) , size: 60 }],
  series: [
    { value: (_u, v) => (v == null ? '—' : fmtTimeS(v * 1000)) },
    { label: 'grid (+ import / − export)', stroke: '#d9822b', width: 2, fill: 'rgba(217,130,43,0.08)', value: (_u, v) => (v == null ? '—' : fmtW(v)) },
  ],
};

function usePowerSeries(meter: string | null, livePoint: { t: number; w: number; seq: number } | null, epoch: number): AlignedData {
  const [points, setPoints] = useState<{ t: number[]; w: number[] }>({ t: [], w: [] });
  const lastSeq = useRef(-1);
  useEffect(() => {
    if (!meter) return;
    let alive = true;
    const now = Date.now();
    lastSeq.current = -1;
    get<ReadingBucket[]>(`/meters/${meter}/readings?from=${now - HISTORY_MS}&to=${now + 60_000}&bucketMs=5000`).then(
      (buckets) => {
        if (!alive || !Array.isArray(buckets)) return;
        // Downsampled buckets (API.md); a server without `bucketMs` answers raw readings, which plot just as well.
        const pts = (buckets as (ReadingBucket | { timestamp: number; powerW: number })[]).map((b) => ('avgPowerW' in b ? { t: b.end, w: b.avgPowerW } : { t: b.timestamp, w: b.powerW }));
        setPoints({ t: pts.map((p) => p.t / 1000), w: pts.map((p) => p.w) });
      },
      () => alive && setPoints({ t: [], w: [] }),
    );
    return () => {
      alive = false;
    };
  }, [meter, epoch]);
  useEffect(() => {
    if (!livePoint || livePoint.seq === lastSeq.current) return;
    lastSeq.current = livePoint.seq;
    setPoints((p) => {
      const t = livePoint.t / 1000;
      if (p.t.length && t <= p.t[p.t.length - 1]) return p;
      const cut = p.t.length > 2000 ? 1 : 0;
      return { t: [...p.t.slice(cut), t], w: [...p.w.slice(cut), livePoint.w] };
    });
  }, [livePoint?.seq]);
  return useMemo(() => [points.t, points.w] as AlignedData, [points]);
}

type RawReading = { timestamp: number; importWh: number; exportWh: number };
/** Register increases per slot from raw readings (for a server that does not downsample with `bucketMs`). */
function bucketsFromReadings(readings: RawReading[], slotMs: number): ReadingBucket[] {
  const out = new Map<number, ReadingBucket & { first: RawReading; last: RawReading }>();
  for (const r of readings) {
    const start = Math.floor(r.timestamp / slotMs) * slotMs;
    const b = out.get(start);
    if (!b) out.set(start, { start, end: start + slotMs, count: 1, importWh: 0, exportWh: 0, avgPowerW: 0, minPowerW: 0, maxPowerW: 0, first: r, last: r });
    else {
      b.count++;
      b.last = r;
      b.importWh = r.importWh - b.first.importWh;
      b.exportWh = r.exportWh - b.first.exportWh;
    }
  }
  return [...out.values()].sort((a, b) => a.start - b.start);
}

function slotEnergy(buckets: ReadingBucket[], trades: MyTrade[]): SlotEnergy[] {
  const bySlot = new Map<number, { sold: number; bought: number }>();
  for (const t of trades) {
    const e = bySlot.get(t.slot) ?? { sold: 0, bought: 0 };
    if (t.side === 'sell') e.sold += t.quantityWh;
    else e.bought += t.quantityWh;
    bySlot.set(t.slot, e);
  }
  return buckets.map((b) => {
    const tr = bySlot.get(b.start) ?? { sold: 0, bought: 0 };
    const sold = Math.min(tr.sold, b.exportWh);
    const bought = Math.min(tr.bought, b.importWh);
    // A grid-connection meter sees only the net: self-use needs a separate PV meter, so it stays 0 here.
    return { slot: b.start, selfUseWh: 0, soldWh: sold, exportedWh: b.exportWh - sold, boughtWh: bought, importedWh: b.importWh - bought };
  });
}

function Money({ trades, settlements, market, period }: { trades: MyTrade[]; settlements: ParticipantSettlement[]; market: MarketInfo | null; period: Period }) {
  const from = Date.now() - PERIODS[period];
  const retail = BigInt(market?.retailPrice ?? market?.cap ?? '0');
  const feedIn = BigInt(market?.feedInPrice ?? market?.floor ?? '0');
  let spent = 0n;
  let earned = 0n;
  let saved = 0n;
  for (const t of trades) {
    if (t.time < from) continue;
    const q = BigInt(t.quantityWh);
    const p = BigInt(t.price);
    if (t.side === 'buy') {
      spent += (p * q) / 1000n;
      saved += ((retail - p) * q) / 1000n;
    } else {
      earned += (p * q) / 1000n;
      saved += ((p - feedIn) * q) / 1000n;
    }
  }
  const settled = settlements.filter((s) => s.slot >= from);
  const paid = settled.reduce((s, x) => s + BigInt(x.paid), 0n);
  const received = settled.reduce((s, x) => s + BigInt(x.received), 0n);
  return (
    <dl data-testid="money">
      <dt>Spent on neighbours' energy</dt>
      <dd data-testid="money-spent">{fmtToken(spent, 4)}</dd>
      <dt>Earned from neighbours</dt>
      <dd data-testid="money-earned">{fmtToken(earned, 4)}</dd>
      <dt>Saved vs retail {fmtPrice(retail)} / feed-in {fmtPrice(feedIn)}</dt>
      <dd data-testid="money-saved" class={saved >= 0n ? 'ok' : 'error'}>{fmtToken(saved, 4)}</dd>
      <dt>Settled: paid ({settled.length} slots)</dt>
      <dd data-testid="money-paid">{fmtToken(paid, 4)}</dd>
      <dt>Settled: received</dt>
      <dd data-testid="money-received">{fmtToken(received, 4)}</dd>
    </dl>
  );
}

function ChainActions({ session, escrow, rewards, chain, onDone }: { session: Session; escrow: Escrow | null; rewards: Rewards | null; chain: ChainInfo | null; onDone: () => void }) {
  const [amount, setAmount] = useState('10');
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (what: string, fn: (m: typeof import('../lib/chain-actions.ts')) => Promise<string>) => {
    setBusy(true);
    setError(null);
    setStatus(`${what}: waiting for the transaction…`);
    try {
      const hash = await fn(await import('../lib/chain-actions.ts'));
      setStatus(`${what}: confirmed, tx ${shortAddr(hash)}`);
      onDone();
    } catch (err) {
      setStatus(null);
      setError(`${what} failed: ${err instanceof Error ? err.message.split('(')[0] : String(err)}`);
    } finally {
      setBusy(false);
    }
  };
  const base = parseToken(amount);
  const [wallet, setWallet] = useState<bigint | null>(null);
  useEffect(() => {
    if (!chain?.rpcUrl || !chain.addresses) return;
    let alive = true;
    import('../lib/chain-actions.ts')
      .then((m) => m.walletTokenBalance(chain, session.signer.address))
      .then((b) => alive && setWallet(b), () => alive && setWallet(null));
    return () => {
      alive = false;
    };
  }, [chain, session, escrow]);
  const withdrawable = !!escrow && escrow.pendingWithdrawal !== '0' && (escrow.withdrawableAt === null || escrow.withdrawableAt <= Date.now());
  const claim = rewards?.claim ?? null;
  const canChain = !!chain?.addresses;
  return (
    <div>
      <dl>
        <dt>Escrow balance</dt>
        <dd data-testid="escrow-balance">{escrow ? fmtToken(escrow.balance, 2) : '—'}</dd>
        <dt>Locked by open bids</dt>
        <dd>{escrow ? fmtToken(escrow.lockedByOpenBids, 4) : '—'}</dd>
        {escrow?.owedForUnsettledTrades && escrow.owedForUnsettledTrades !== '0' && (
          <>
            <dt>Owed for unsettled trades</dt>
            <dd>{fmtToken(escrow.owedForUnsettledTrades, 4)}</dd>
          </>
        )}
        <dt>Free</dt>
        <dd>{escrow ? fmtToken(escrow.free, 2) : '—'}</dd>
        {escrow && escrow.pendingWithdrawal !== '0' && (
          <>
            <dt>Withdrawal requested</dt>
            <dd>{fmtToken(escrow.pendingWithdrawal, 2)} {escrow.withdrawableAt ? `from ${fmtTime(escrow.withdrawableAt)}` : ''}</dd>
          </>
        )}
        <dt>In your wallet</dt>
        <dd data-testid="wallet-balance">{wallet === null ? '—' : fmtToken(wallet, 2)}</dd>
        <dt>Rewards claimable</dt>
        <dd data-testid="rewards-claimable">{rewards ? fmtReward(rewards.claimable) : '—'}</dd>
        <dt>Rewards accrued</dt>
        <dd data-testid="rewards-accrued">{rewards ? fmtReward(rewards.accrued) : '—'}</dd>
        <dt>Rewards claimed</dt>
        <dd data-testid="rewards-claimed">{rewards ? fmtReward(rewards.claimed) : '—'}</dd>
        <dt>Reward epoch on chain</dt>
        <dd data-testid="rewards-epoch">{rewards?.chainEpoch ? `#${rewards.chainEpoch}${claim ? ` (slots before ${fmtTime(claim.toSlot)})` : ''}` : 'none yet'}</dd>
      </dl>
      <div class="row">
        <div class="field">
          <label for="escrow-amount">Amount (GRID)</label>
          <input id="escrow-amount" inputMode="decimal" size={8} value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} aria-invalid={base === null ? true : undefined} />
        </div>
        <button type="button" disabled={busy || !canChain || base === null || (wallet !== null && base !== null && wallet < base)} title={wallet !== null && base !== null && wallet < base ? 'not enough GRID in the wallet' : undefined} onClick={() => run('deposit', (m) => m.deposit(chain!, chainKey(session), base!))}>Deposit</button>
        <button type="button" disabled={busy || !canChain || base === null} onClick={() => run('withdrawal request', (m) => m.requestWithdrawal(chain!, chainKey(session), base!))}>Request withdrawal</button>
        <button type="button" disabled={busy || !canChain || !withdrawable} onClick={() => run('withdrawal', (m) => m.executeWithdrawal(chain!, chainKey(session)))}>Withdraw</button>
        <button type="button" disabled={busy || !canChain || !claim} title={claim ? undefined : 'nothing claimable in the reward root on chain yet'} onClick={() => run('claim', (m) => m.claimRewards(chain!, chainKey(session), BigInt(claim!.cumulative), claim!.proof))}>Claim rewards</button>
      </div>
      {!canChain && <p class="muted small">No chain configured on this server: balances come from the server's ledger; deposits and claims need a chain.</p>}
      {chain?.withdrawalDelaySeconds ? <p class="muted small">Withdrawals wait {Math.round(chain.withdrawalDelaySeconds / 60)} min so open bids stay covered.</p> : null}
      {status && <p class="ok" role="status">{status}</p>}
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}

function RulesEditor({ meter, session }: { meter: string; session: Session }) {
  const [rule, setRule] = useState<{ enabled: boolean; minSell: string; maxBuy: string }>({ enabled: false, minSell: '', maxBuy: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<string | null>(null);
  const [delegated, setDelegated] = useState<boolean | null>(null);
  useEffect(() => {
    get<{ rules: TradeRule[]; delegation: unknown }>('/participants/me/rules').then(
      (r) => {
        const mine = r.rules.find((x) => x.meter.toLowerCase() === meter.toLowerCase()) ?? r.rules[0];
        if (mine) setRule({ enabled: mine.enabled, minSell: mine.minSellPrice ? centsString(BigInt(mine.minSellPrice)) : '', maxBuy: mine.maxBuyPrice ? centsString(BigInt(mine.maxBuyPrice)) : '' });
        setDelegated(!!r.delegation);
      },
      (err) => setErrors({ form: isMissing(err) ? 'This server does not serve trade rules yet (GET /api/participants/me/rules).' : err instanceof Error ? err.message : String(err) }),
    );
  }, [meter, session]);
  const save = async (e: Event) => {
    e.preventDefault();
    const minSell = rule.minSell.trim() ? parseCents(rule.minSell) : null;
    const maxBuy = rule.maxBuy.trim() ? parseCents(rule.maxBuy) : null;
    const local: Record<string, string> = {};
    if (rule.minSell.trim() && minSell === null) local.minSellPrice = 'a price in ct/kWh';
    if (rule.maxBuy.trim() && maxBuy === null) local.maxBuyPrice = 'a price in ct/kWh';
    setErrors(local);
    setStatus(null);
    if (Object.keys(local).length) return;
    try {
      await api('PUT', '/participants/me/rules', { rules: [{ meter, enabled: rule.enabled, minSellPrice: minSell?.toString() ?? null, maxBuyPrice: maxBuy?.toString() ?? null }] });
      setStatus('rules saved');
    } catch (err) {
      const f = fieldErrors(err);
      setErrors(Object.keys(f).length ? f : { form: err instanceof Error ? err.message : String(err) });
    }
  };
  const delegate = async () => {
    try {
      const d = await get<{ sessionKey: string; expiry: number; typedData: { domain: Record<string, unknown>; types: Record<string, { name: string; type: string }[]>; message: Record<string, unknown> } }>('/participants/me/delegation');
      // ethers adds EIP712Domain itself from the domain object.
      const types = Object.fromEntries(Object.entries(d.typedData.types).filter(([k]) => k !== 'EIP712Domain'));
      const signature = await session.signer.signTypedData(d.typedData.domain, types, d.typedData.message);
      await api('POST', '/participants/me/delegation', { sessionKey: d.sessionKey, expiry: d.expiry, signature });
      setDelegated(true);
    } catch (err) {
      setErrors({ form: err instanceof ApiError ? err.message : String(err) });
    }
  };
  return (
    <form class="form" onSubmit={save} data-testid="rules-form">
      <label><input type="checkbox" checked={rule.enabled} onChange={(e) => setRule({ ...rule, enabled: (e.target as HTMLInputElement).checked })} /> Trade automatically with these limits</label>
      <div class="row">
        <div class="field">
          <label for="rule-min-sell">Minimum sell price (ct/kWh)</label>
          <input id="rule-min-sell" inputMode="decimal" size={8} value={rule.minSell} placeholder="don't sell" onInput={(e) => setRule({ ...rule, minSell: (e.target as HTMLInputElement).value })} aria-invalid={errors.minSellPrice ? true : undefined} aria-describedby="rule-min-sell-error" />
          {errors.minSellPrice && <span class="field-error" id="rule-min-sell-error" role="alert">{errors.minSellPrice}</span>}
        </div>
        <div class="field">
          <label for="rule-max-buy">Maximum buy price (ct/kWh)</label>
          <input id="rule-max-buy" inputMode="decimal" size={8} value={rule.maxBuy} placeholder="don't buy" onInput={(e) => setRule({ ...rule, maxBuy: (e.target as HTMLInputElement).value })} aria-invalid={errors.maxBuyPrice ? true : undefined} aria-describedby="rule-max-buy-error" />
          {errors.maxBuyPrice && <span class="field-error" id="rule-max-buy-error" role="alert">{errors.maxBuyPrice}</span>}
        </div>
        <button type="submit">Save rules</button>
      </div>
      <p class="small muted">
        Rule orders are signed by a session key you delegate once: {delegated === null ? '—' : delegated ? 'delegated ✔' : <button type="button" class="small" onClick={delegate}>delegate now</button>}
      </p>
      {errors.form && <p class="error" role="alert">{errors.form}</p>}
      {status && <p class="ok" role="status">{status}</p>}
    </form>
  );
}

export function HomePage() {
  const view = useMarketLive();
  const session = useSession();
  const now = useNow(1000);
  const [period, setPeriod] = useState<Period>('day');
  const [refresh, setRefresh] = useState(0);
  const me = session?.signer.address.toLowerCase() ?? null;
  const meters = useFetched(() => get<MeterSummary[]>('/meters'), [view.epoch, Math.floor(now / 10_000)]);
  const [picked, setPicked] = useState<string | null>(null);
  const mine = (meters.value ?? []).filter((m) => me && m.owner.toLowerCase() === me);
  const meter = (mine[0] ?? (meters.value ?? []).find((m) => m.meter === picked) ?? (meters.value ?? [])[0]) ?? null;
  const live = meter ? view.homes.get(meter.meter) : undefined;
  const series = usePowerSeries(meter?.meter ?? null, live ? { t: live.timestamp, w: live.powerW, seq: live.seq } : null, view.epoch);
  const market = view.market?.info ?? null;
  const signedIn = !!session?.token && mine.length > 0;
  const priv = [session, view.privateEpoch, refresh, period] as unknown[];
  const from = now - PERIODS[period];
  const trades = useFetched(async () => (session?.token ? get<MyTrade[]>(`/participants/me/trades?from=${Date.now() - PERIODS[period]}`) : []), priv);
  const settlements = useFetched(async () => (session?.token ? get<ParticipantSettlement[]>(`/participants/me/settlements?from=${Date.now() - PERIODS[period]}`) : []), priv);
  const escrow = useFetched(async () => (session?.token ? get<Escrow>('/participants/me/escrow') : null), priv);
  const rewards = useFetched(async () => (session?.token ? get<Rewards>('/participants/me/rewards') : null), priv);
  const chain = useFetched(() => get<ChainInfo>('/chain'), [view.epoch]);
  const slotMs = market?.slotMs ?? 60_000;
  const slotCount = market ? view.market!.slots.size : 0;
  const buckets = useFetched(
    async () => {
      if (!meter) return [];
      const from = Math.floor((Date.now() - 24 * slotMs) / slotMs) * slotMs;
      const answer = await get<(ReadingBucket | RawReading)[]>(`/meters/${meter.meter}/readings?from=${from}&to=${Date.now()}&bucketMs=${slotMs}`);
      if (answer.every((b) => 'start' in b)) return answer as ReadingBucket[];
      const raw = await get<RawReading[]>(`/meters/${meter.meter}/readings?from=${Math.max(from, Date.now() - 6 * slotMs)}&to=${Date.now()}&limit=10000`);
      return bucketsFromReadings(raw, slotMs);
    },
    [meter?.meter, slotMs, slotCount, view.epoch, Math.floor(now / slotMs)],
  );
  const rows = useMemo(() => slotEnergy(Array.isArray(buckets.value) ? buckets.value : [], trades.value ?? []), [buckets.value, trades.value]);
  const tot = rows.reduce((a, r) => ({ sold: a.sold + r.soldWh, exp: a.exp + r.exportedWh, bought: a.bought + r.boughtWh, imp: a.imp + r.importedWh }), { sold: 0, exp: 0, bought: 0, imp: 0 });
  const selfSufficiency = tot.bought + tot.imp > 0 ? tot.bought / (tot.bought + tot.imp) : null;
  const selfConsumption = tot.sold + tot.exp > 0 ? tot.sold / (tot.sold + tot.exp) : null;
  const slotStatus = (slot: number) => view.market?.slots.get(slot);

  const exportCsv = async (kind: 'readings' | 'trades' | 'settlements') => {
    const res = await fetch(`/api/participants/me/export/${kind}.csv?from=${from}&to=${Date.now()}`, { headers: session?.token ? { authorization: `Bearer ${session.token}` } : {} });
    if (res.ok) {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(await res.blob());
      a.download = `gridmesh-${kind}.csv`;
      a.click();
      return;
    }
    // The public readings are still exportable when the private export is unavailable.
    if (kind === 'readings' && meter) {
      const readings = await get<Record<string, unknown>[]>(`/meters/${meter.meter}/readings?from=${from}&limit=10000`);
      downloadCsv('gridmesh-readings.csv', readings);
    }
  };

  return (
    <div class="page home-page">
      <h2>
        My home{' '}
        {meter && <span class="muted small">· {meter.ownerName ?? shortAddr(meter.owner)} · meter {shortAddr(meter.meter)}</span>}
      </h2>
      {!signedIn && (
        <p class="card">
          {session ? 'This account has no meter here — showing a neighbour’s public data.' : 'Sign in (a demo home’s key works) to see your trades, money, settlements and escrow. Public meter data:'}{' '}
          <label>
            home{' '}
            <select value={meter?.meter ?? ''} onChange={(e) => setPicked((e.target as HTMLSelectElement).value)} data-testid="home-select">
              {(meters.value ?? []).map((m) => (
                <option key={m.meter} value={m.meter}>{m.ownerName ?? shortAddr(m.owner)}</option>
              ))}
            </select>
          </label>
        </p>
      )}
      <div class="home-layout">
        <section class="card span2" aria-labelledby="power-title">
          <h3 id="power-title">Power now: <span data-testid="home-power">{live ? (live.powerW < 0 ? `exporting ${fmtW(-live.powerW)}` : `importing ${fmtW(live.powerW)}`) : '—'}</span></h3>
          <UPlotChart options={powerOptions} data={series} label="Grid power of this home over the last 30 minutes (W, + import, − export)" testId="power-chart" />
        </section>
        <section class="card" aria-labelledby="health-title">
          <h3 id="health-title">Meter health</h3>
          <dl data-testid="meter-health">
            <dt>Last reading</dt>
            <dd data-testid="reading-age">{live ? `${fmtAge(Math.max(0, now - live.timestamp))} ago (seq ${live.seq})` : meter?.latest ? `${fmtAge(meter.latest.ageMs)} ago` : 'none'}</dd>
            <dt>Signature</dt>
            <dd>{(live?.verified ?? meter?.latest?.signatureVerified) ? '✔ verified (EIP-712)' : 'not verified'}</dd>
            <dt>Bridge link</dt>
            <dd>{meter?.link ? `${meter.link.online ? 'online' : 'offline'} since ${fmtTime(meter.link.since)}` : 'unknown'}</dd>
            <dt>Outbox</dt>
            <dd>{meter?.link?.outboxDepth ?? '—'} readings queued</dd>
            <dt>Source</dt>
            <dd>{meter?.link?.sourceState ?? '—'}</dd>
            <dt>Capacity</dt>
            <dd>{meter ? fmtW(meter.capacityW) : '—'}</dd>
          </dl>
        </section>
        <section class="card span2" aria-labelledby="bars-title">
          <h3 id="bars-title">Energy per slot</h3>
          <SlotBars rows={rows} />
          {!session?.token && <p class="muted small">Neighbour trades need sign-in; without it all exchange shows as grid.</p>}
        </section>
        <section class="card" aria-labelledby="kpi-home-title">
          <h3 id="kpi-home-title">Local share (last {rows.length} slots)</h3>
          <div class="gauges">
            <Gauge label="Self-sufficiency" share={selfSufficiency} testId="gauge-self-sufficiency" hint="energy you drew that neighbours supplied" />
            <Gauge label="Self-consumption" share={selfConsumption} testId="gauge-self-consumption" hint="surplus kept in the neighbourhood" />
          </div>
          <p class="small muted">{fmtKWh(tot.bought)} bought · {fmtKWh(tot.imp)} from grid · {fmtKWh(tot.sold)} sold · {fmtKWh(tot.exp)} to grid</p>
        </section>
        <section class="card" aria-labelledby="money-title">
          <h3 id="money-title">Money</h3>
          <div class="row" role="group" aria-label="Period">
            {(Object.keys(PERIODS) as Period[]).map((p) => (
              <button key={p} type="button" class="small" aria-pressed={p === period} onClick={() => setPeriod(p)}>{p}</button>
            ))}
          </div>
          {session?.token ? <Money trades={trades.value ?? []} settlements={settlements.value ?? []} market={market} period={period} /> : <p class="muted">Sign in to see money.</p>}
          {trades.error && <p class="error small">{trades.error}</p>}
        </section>
        <section class="card" aria-labelledby="escrow-title">
          <h3 id="escrow-title">Escrow and rewards</h3>
          {session?.token ? <ChainActions session={session} escrow={escrow.value} rewards={rewards.value} chain={chain.value} onDone={() => setRefresh(refresh + 1)} /> : <p class="muted">Sign in to see escrow and rewards.</p>}
          {escrow.error && <p class="error small">{escrow.error}</p>}
        </section>
        <section class="card" aria-labelledby="rules-title">
          <h3 id="rules-title">Trade rules</h3>
          {session?.token && meter && signedIn ? <RulesEditor meter={meter.meter} session={session} /> : <p class="muted">Sign in as this home to set a minimum sell and maximum buy price.</p>}
        </section>
        <section class="card span3" aria-labelledby="settle-title">
          <h3 id="settle-title">Delivery settlement per slot</h3>
          <div class="table-wrap">
            <table data-testid="settlements">
              <thead>
                <tr>
                  <th scope="col">Slot</th><th scope="col" class="num">Metered export / import</th><th scope="col" class="num">Sold / delivered</th><th scope="col" class="num">Undelivered</th>
                  <th scope="col" class="num">Bought / delivered to you</th><th scope="col" class="num">Imbalance paid / received</th><th scope="col" class="num">Paid</th><th scope="col" class="num">Received</th>
                  <th scope="col" class="num">Net (escrow)</th><th scope="col">Status</th><th scope="col">Tx</th>
                </tr>
              </thead>
              <tbody>
                {[...(settlements.value ?? [])].sort((a, b) => b.slot - a.slot).map((s) => (
                  <tr key={`${s.market}-${s.slot}`} data-testid="settlement-row">
                    <td>{fmtTime(s.slot)}{s.metered === false ? ' (no readings)' : ''}</td>
                    <td class="num">{fmtWh(s.meteredExportWh)} / {fmtWh(s.meteredImportWh)}</td>
                    <td class="num">{fmtWh(s.soldWh)} / {fmtWh(s.deliveredWh)}</td>
                    <td class="num">{fmtWh(s.undeliveredWh)}</td>
                    <td class="num">{fmtWh(s.boughtWh)} / {fmtWh(s.boughtDeliveredWh)}</td>
                    <td class="num">{fmtToken(s.imbalancePaid, 4)} / {fmtToken(s.imbalanceReceived, 4)}</td>
                    <td class="num">{fmtToken(s.paid, 4)}</td>
                    <td class="num">{fmtToken(s.received, 4)}</td>
                    <td class="num">{fmtToken(s.net, 4)}</td>
                    <td>{s.status}</td>
                    <td>{s.txHash ? <code title={s.txHash}>{shortAddr(s.txHash)}</code> : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {settlements.error && <p class="error small">{settlements.error}</p>}
          <h3>My trades</h3>
          <div class="table-wrap">
            <table data-testid="my-trades">
              <thead>
                <tr><th scope="col">Time</th><th scope="col">Slot</th><th scope="col">Side</th><th scope="col" class="num">Price</th><th scope="col" class="num">Energy</th><th scope="col">Settlement</th><th scope="col">Tx</th></tr>
              </thead>
              <tbody>
                {[...(trades.value ?? [])].sort((a, b) => b.time - a.time).slice(0, 100).map((t) => {
                  const st = slotStatus(t.slot);
                  return (
                    <tr key={t.id}>
                      <td>{fmtTimeS(t.time)}</td>
                      <td>{fmtTime(t.slot)}</td>
                      <td class={t.side === 'buy' ? 'buy' : 'sell'}>{t.side}</td>
                      <td class="num">{fmtPrice(t.price)}</td>
                      <td class="num">{fmtKWh(t.quantityWh)}</td>
                      <td>{st?.settlement?.status ?? st?.state.replace('_', ' ') ?? '—'}</td>
                      <td>
                        {st?.settlement?.txHash ? <code title={st.settlement.txHash}>{shortAddr(st.settlement.txHash)}</code> : '—'}
                        {st?.settlement?.txHash && <> · <a href={`/api/slots/${t.slot}/trades/${encodeURIComponent(t.id)}/proof`} target="_blank" rel="noopener">proof</a></>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <div class="row">
            <button type="button" class="secondary" onClick={() => exportCsv('readings')} data-testid="csv-readings">Readings CSV</button>
            <button type="button" class="secondary" disabled={!session?.token} onClick={() => exportCsv('trades')}>Trades CSV</button>
            <button type="button" class="secondary" disabled={!session?.token} onClick={() => exportCsv('settlements')}>Settlements CSV</button>
          </div>
        </section>
      </div>
    </div>
  );
}
