// Operator: markets and config, slot states, settlement health (batches, gas, retries, reward roots), unmet demand and grid import, bridges.
import { get } from '../lib/api.ts';
import { fmtAge, fmtPrice, fmtReward, fmtTime, fmtWh, shortAddr } from '../lib/format.ts';
import { useFetched, useMarketLive } from '../lib/hooks.ts';
import type { OperatorView } from '../lib/wire.ts';

const num = (s: string | null | undefined) => (s === null || s === undefined ? '—' : Number(s).toLocaleString('en'));

export function OperatorPage() {
  const view = useMarketLive();
  // Re-read when a slot changes state (live `slot` messages) or after a reconnect; no polling loop.
  const slotKey = view.market ? [...view.market.slots.values()].map((s) => `${s.slot}:${s.state}:${s.settlement?.status ?? ''}`).join(',') : '';
  const op = useFetched(() => get<OperatorView>('/operator'), [slotKey, view.epoch]);
  const o = op.value;
  const batches = o?.settlement.batches ?? [];
  const count = (status: string) => batches.filter((b) => b.status === status).length;
  const retried = batches.filter((b) => b.attempts > 1).length;
  // Newest first: every slot past its gate, then the next few open ones (the far horizon is on the Trade page).
  const allSlots = (view.market ? [...view.market.slots.values()] : o?.slots ?? []).sort((a, b) => a.slot - b.slot);
  const liveSlots = [...allSlots.filter((s) => s.state !== 'open').slice(-30), ...allSlots.filter((s) => s.state === 'open').slice(0, 4)].reverse();
  const online = new Set([...view.homes.values()].filter((h) => Date.now() - h.timestamp < 15_000).map((h) => h.meter));
  return (
    <div class="page operator-page">
      <h2>Operator</h2>
      {op.error && <p class="error" role="alert">operator view unavailable: {op.error}</p>}
      <div class="home-layout">
        <section class="card span2" aria-labelledby="mk-title">
          <h3 id="mk-title">Markets</h3>
          <div class="table-wrap">
            <table data-testid="markets">
              <thead>
                <tr><th scope="col">Market</th><th scope="col">Mechanism</th><th scope="col">Slot / horizon / gate / grace</th><th scope="col">Floor (feed-in)</th><th scope="col">Cap (retail)</th><th scope="col">Tick</th><th scope="col">Grid fee</th></tr>
              </thead>
              <tbody>
                {(o?.markets ?? (view.market ? [view.market.info] : [])).map((m) => (
                  <tr key={m.id}>
                    <td>{m.id}</td>
                    <td>{m.mechanism}{m.mechanism === 'call' ? ` (k = ${m.k})` : ''}</td>
                    <td>{m.slotMs / 1000} s / {m.horizonMs / 60000} min / {m.gateMs / 1000} s / {m.graceMs / 1000} s</td>
                    <td>{fmtPrice(m.floor)}</td>
                    <td>{fmtPrice(m.cap)}</td>
                    <td>{fmtPrice(m.tick)}</td>
                    <td>{fmtPrice(m.gridFee)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section class="card" aria-labelledby="health-op-title">
          <h3 id="health-op-title">Settlement health</h3>
          <dl data-testid="settlement-health">
            <dt>Outbox depth</dt><dd>{o ? `${o.settlement.outboxDepth} batches` : '—'}</dd>
            <dt>Pending / sent</dt><dd>{count('pending')} / {count('sent')} batches</dd>
            <dt>Confirmed</dt><dd>{count('confirmed')} batches</dd>
            <dt>Failed</dt><dd class={count('failed') ? 'error' : ''}>{count('failed')} batches</dd>
            <dt>Retried</dt><dd>{retried} batches</dd>
            <dt>Slots settled / settling</dt><dd>{allSlots.filter((x) => x.state === 'settled').length} / {allSlots.filter((x) => x.state === 'settling' || x.state === 'metering').length} slots</dd>
            <dt>Gas, last confirmed batch</dt><dd>{(() => { const b = [...batches].reverse().find((x) => x.status === 'confirmed' && x.gasUsed); return b ? `${num(b.gasUsed)} gas (${num(b.gasPerTrade)} per trade)` : '—'; })()}</dd>
            <dt>Bridges online</dt><dd>{o ? o.bridges.filter((b) => b.online).length : online.size} / {o ? o.bridges.length : view.homes.size}</dd>
          </dl>
        </section>
        <section class="card span3" aria-labelledby="slots-op-title">
          <h3 id="slots-op-title">Slots</h3>
          <div class="table-wrap">
            <table data-testid="op-slots">
              <thead>
                <tr><th scope="col">Slot</th><th scope="col">State</th><th scope="col" class="num">Trades</th><th scope="col" class="num">Volume</th><th scope="col" class="num">Price</th><th scope="col" class="num">Unmet demand</th><th scope="col" class="num">Community import / export</th><th scope="col">Batch</th><th scope="col" class="num">Gas (slot / trade)</th><th scope="col">Tx</th></tr>
              </thead>
              <tbody>
                {liveSlots.slice(0, 40).map((s) => {
                  const g = o?.grid.find((x) => x.slot === s.slot);
                  const b = batches.find((x) => x.slot === s.slot);
                  return (
                    <tr key={s.slot} data-slot={s.slot}>
                      <td>{fmtTime(s.slot)}</td>
                      <td><span class={`state state-${s.state}`}>{s.state.replace('_', ' ')}</span></td>
                      <td class="num">{s.tradeCount}</td>
                      <td class="num">{fmtWh(s.volumeWh)}</td>
                      <td class="num">{fmtPrice(s.clearingPrice ?? s.vwap)}</td>
                      <td class="num" title={g?.homes !== undefined ? `${g.meteredHomes} of ${g.homes} homes metered; they imported ${fmtWh(g.importWh ?? 0)}` : undefined}>{g ? fmtWh(g.unmetDemandWh) : '—'}</td>
                      <td class="num">{g ? `${fmtWh(g.communityImportWh)} / ${fmtWh(g.communityExportWh)}` : '—'}</td>
                      <td>{b ? `${b.status}${b.attempts > 1 ? ` (${b.attempts} attempts)` : ''}${b.error ? `: ${b.error}` : ''}` : s.settlement?.status ?? '—'}</td>
                      <td class="num">{b ? `${num(b.gasUsed)} / ${num(b.gasPerTrade)} gas` : '—'}</td>
                      <td>{(b?.txHash ?? s.settlement?.txHash) ? <code title={b?.txHash ?? s.settlement?.txHash ?? ''}>{shortAddr((b?.txHash ?? s.settlement?.txHash)!)}</code> : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </section>
        <section class="card span2" aria-labelledby="epochs-title">
          <h3 id="epochs-title">Reward epochs</h3>
          <div class="table-wrap">
            <table data-testid="reward-epochs">
              <thead><tr><th scope="col">Epoch</th><th scope="col">Covers slots before</th><th scope="col">Merkle root</th><th scope="col">Accounts</th><th scope="col">Cumulative (GMR)</th><th scope="col">Status</th><th scope="col">Gas</th><th scope="col">Tx</th></tr></thead>
              <tbody>
                {(o?.rewardEpochs ?? []).map((e) => (
                  <tr key={e.epoch}>
                    <td>{e.epoch}</td><td>{fmtTime(e.toSlot)}</td><td><code title={e.root}>{shortAddr(e.root)}</code></td><td>{e.accounts}</td><td>{fmtReward(e.total)}</td>
                    <td title={e.error ?? undefined}>{e.status}{e.attempts > 1 ? ` (${e.attempts} attempts)` : ''}</td><td>{e.gasUsed ?? '—'}</td>
                    <td>{e.txHash ? <code title={e.txHash}>{shortAddr(e.txHash)}</code> : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {o && o.rewardEpochs.length === 0 && <p class="muted">No reward epoch published yet.</p>}
        </section>
        <section class="card" aria-labelledby="bridges-title">
          <h3 id="bridges-title">Bridges</h3>
          <div class="table-wrap">
          <table data-testid="bridges">
            <thead><tr><th scope="col">Home</th><th scope="col">Link</th><th scope="col" class="num">Last reading</th><th scope="col" class="num">Outbox</th></tr></thead>
            <tbody>
              {(o?.bridges ?? [...view.homes.values()].map((h) => ({ meter: h.meter, name: h.name, online: online.has(h.meter), since: h.timestamp, lastReadingAgeMs: Date.now() - h.timestamp, outboxDepth: null }))).map((b) => (
                <tr key={b.meter}>
                  <td>{b.name}</td>
                  <td class={b.online ? 'ok' : 'error'}>{b.online ? 'online' : 'offline'}</td>
                  <td class="num">{b.lastReadingAgeMs === null ? '—' : `${fmtAge(b.lastReadingAgeMs)} ago`}</td>
                  <td class="num">{b.outboxDepth ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        </section>
      </div>
    </div>
  );
}
