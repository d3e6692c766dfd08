// Neighbourhood flows: the live diagram of homes, transformer and grid; self-sufficiency now and per slot; clearing-price history.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlignedData, Options } from 'uplot';
import { FlowsDiagram, type FlowHome, type NeighbourFlow } from '../charts/flows-diagram.ts';
import { UPlotChart } from '../charts/uplot-chart.tsx';
import { get } from '../lib/api.ts';
import { centsString, fmtKWh, fmtPct, fmtPrice, fmtTime, fmtTimeS, fmtW } from '../lib/format.ts';
import { useFetched, useMarketLive } from '../lib/hooks.ts';
import type { LiveView } from '../live.ts';
import type { OperatorView, PricePoint } from '../lib/wire.ts';

const OFFLINE_AFTER_MS = 15_000;

/** The neighbour flows of the slot being delivered: the server's `flows` when present, else the slot's trades (contracted power). */
function contractedFlows(view: LiveView, now: number): NeighbourFlow[] {
  const market = view.market;
  if (!market) return [];
  const meterOf = new Map([...view.homes.values()].map((h) => [h.owner.toLowerCase(), h.meter]));
  const slotMs = market.info.slotMs;
  const current = Math.floor(now / slotMs) * slotMs;
  const pairs = new Map<string, NeighbourFlow>();
  const add = (seller: string, buyer: string, powerW: number, price: string) => {
    const from = meterOf.get(seller.toLowerCase());
    const to = meterOf.get(buyer.toLowerCase());
    if (!from || !to) return;
    const key = `${from}>${to}`;
    const prev = pairs.get(key);
    pairs.set(key, { from, to, powerW: (prev?.powerW ?? 0) + powerW, price });
  };
  if (market.flows && market.flows.slot === current) {
    for (const t of market.flows.trades) add(t.seller, t.buyer, t.powerW, t.price);
  } else {
    for (const t of market.trades.values()) if (t.slot === current) add(t.seller, t.buyer, (t.quantityWh * 3_600_000) / slotMs, t.price);
  }
  return [...pairs.values()];
}

function liveSelfSufficiency(homes: FlowHome[]): { importW: number; exportW: number; share: number | null } {
  let importW = 0;
  let exportW = 0;
  for (const h of homes) h.powerW > 0 ? (importW += h.powerW) : (exportW -= h.powerW);
  return { importW, exportW, share: importW > 0 ? Math.min(importW, exportW) / importW : null };
}

const priceOptions: Omit<Options, 'width' | 'height'> = {
  scales: { x: { time: true }, ct: {}, pct: { range: [0, 100] } },
  axes: [
    {},
    { scale: 'ct', label: 'ct/kWh', values: (_u, vals) => vals.map((v) => `${v}`) },
    { scale: 'pct', side: 1, label: 'self-sufficiency %', grid: { show: false } },
  ],
  series: [
    { value: (_u, v) => (v == null ? '—' : fmtTime(v * 1000)) },
    { label: 'price', scale: 'ct', stroke: '#1f6feb', width: 2, points: { show: true }, value: (_u, v) => (v == null ? '—' : `${v.toFixed(2)} ct/kWh`) },
    { label: 'self-sufficiency', scale: 'pct', stroke: '#2da44e', width: 2, dash: [4, 3], value: (_u, v) => (v == null ? '—' : `${v.toFixed(0)} %`) },
  ],
};

export function FlowsPage() {
  const view = useMarketLive();
  const host = useRef<HTMLDivElement>(null);
  const diagram = useRef<FlowsDiagram | null>(null);
  const [focused, setFocused] = useState<string | null>(null);
  const now = Date.now();

  const homes: FlowHome[] = useMemo(
    () => [...view.homes.values()].map((h) => ({ meter: h.meter, name: h.name, powerW: h.powerW, online: now - h.timestamp < OFFLINE_AFTER_MS })),
    [view],
  );
  const flows = useMemo(() => contractedFlows(view, now), [view]);

  useEffect(() => {
    diagram.current = new FlowsDiagram(host.current!, setFocused);
    return () => diagram.current?.destroy();
  }, []);
  useEffect(() => {
    const t0 = performance.now();
    diagram.current?.update(homes, flows);
    // Cost of one diagram update, for bench/web.bench.ts (bounded: the buffer is cleared past 2 000 entries).
    if (performance.getEntriesByName('gridmesh:flows-update').length > 2000) performance.clearMeasures('gridmesh:flows-update');
    performance.measure('gridmesh:flows-update', { start: t0 });
    // First meaningful render: the homes are on screen (read by bench/web.bench.ts through the Performance API).
    if (homes.length && !performance.getEntriesByName('gridmesh:homes-rendered').length) performance.mark('gridmesh:homes-rendered');
  }, [homes, flows]);

  const marketId = view.market?.info.id ?? null;
  const slotsSettledKey = view.market ? [...view.market.slots.values()].filter((s) => s.state !== 'open').length : 0;
  const history = useFetched(
    async () => {
      if (!marketId) return null;
      const [prices, operator] = await Promise.all([
        get<PricePoint[]>(`/markets/${marketId}/price-history`),
        get<OperatorView>('/operator').catch(() => null),
      ]);
      return { prices, grid: operator?.grid ?? [] };
    },
    [marketId, slotsSettledKey, view.epoch],
  );
  const chartData: AlignedData = useMemo(() => {
    const prices = history.value?.prices ?? [];
    const grid = new Map((history.value?.grid ?? []).map((g) => [g.slot, g]));
    const xs = prices.map((p) => p.slot / 1000);
    const price = prices.map((p) => {
      const v = p.clearingPrice ?? p.vwap;
      return v === null ? null : Number(centsString(BigInt(v)));
    });
    const ss = prices.map((p) => {
      const g = grid.get(p.slot);
      if (!g) return null;
      const total = p.volumeWh + g.communityImportWh;
      return total > 0 ? (100 * p.volumeWh) / total : null;
    });
    return [xs, price, ss] as AlignedData;
  }, [history.value]);

  const ss = liveSelfSufficiency(homes);
  const sorted = [...view.homes.values()].sort((a, b) => a.name.localeCompare(b.name));
  const focus = focused ? view.homes.get(focused) : null;
  const totals = view.market?.flows?.totals;

  return (
    <div class="page flows-page">
      <h2>Neighbourhood flows</h2>
      <div class="flows-layout">
        <section class="card diagram-card" aria-labelledby="diagram-title">
          <h3 id="diagram-title">Now {view.market && <span class="muted">· slot {fmtTime(Math.floor(now / view.market.info.slotMs) * view.market.info.slotMs)}</span>}</h3>
          <div ref={host} class="diagram" data-testid="flows-diagram" data-homes={homes.length} data-flows={flows.length} />
          <p class="legend">
            <span class="key to-grid" /> surplus to grid <span class="key from-grid" /> deficit from grid <span class="key trade" /> neighbour → neighbour (from this slot's trades); line width ∝ power
          </p>
          <p class="focus" aria-live="polite" data-testid="flow-focus">
            {focus ? (
              <>
                <strong>{focus.name}</strong>: {focus.powerW < 0 ? 'exporting' : 'importing'} {fmtW(Math.abs(focus.powerW))}
                {flows.filter((f) => f.from === focus.meter).map((f) => ` · sold ${fmtW(f.powerW)} avg. to ${view.homes.get(f.to)?.name ?? '?'} at ${fmtPrice(f.price)}`).join('')}
                {flows.filter((f) => f.to === focus.meter).map((f) => ` · bought ${fmtW(f.powerW)} avg. from ${view.homes.get(f.from)?.name ?? '?'} at ${fmtPrice(f.price)}`).join('')}
              </>
            ) : (
              'Hover or focus (Tab) a home for its values.'
            )}
          </p>
        </section>
        <section class="card kpis" aria-labelledby="kpi-title">
          <h3 id="kpi-title">Neighbourhood</h3>
          <dl>
            <dt>Self-sufficiency now</dt>
            <dd data-testid="self-sufficiency">{fmtPct(totals?.selfSufficiency ?? ss.share)}</dd>
            <dt>Homes importing</dt>
            <dd>{fmtW(totals ? totals.consumptionW : ss.importW)}</dd>
            <dt>Homes exporting</dt>
            <dd>{fmtW(totals ? totals.productionW : ss.exportW)}</dd>
            <dt>Met by neighbours</dt>
            <dd title="imports covered by neighbours' exports behind the transformer">{fmtW(totals ? totals.localW : Math.min(ss.importW, ss.exportW))}</dd>
            <dt>Traded between neighbours</dt>
            <dd data-testid="traded-share" title="imports contracted in this slot's trades">{totals ? `${fmtW(totals.tradedW)} (${fmtPct(totals.tradedShare)})` : '—'}</dd>
            <dt>Grid import / export</dt>
            <dd>
              {fmtW(totals ? totals.gridImportW : Math.max(0, ss.importW - ss.exportW))} / {fmtW(totals ? totals.gridExportW : Math.max(0, ss.exportW - ss.importW))}
            </dd>
            <dt>Neighbour trades now</dt>
            <dd data-testid="flow-count">{flows.length}</dd>
          </dl>
        </section>
      </div>
      <section class="card" aria-labelledby="history-title">
        <h3 id="history-title">Price and self-sufficiency per slot</h3>
        {history.error && <p class="error">history unavailable: {history.error}</p>}
        {/* An empty series would draw a meaningless default time axis: say so instead until the first slot has a price. */}
        {chartData[0].length > 0 ? (
          <UPlotChart options={priceOptions} data={chartData} height={200} label="Clearing price (ct/kWh) and self-sufficiency (%) per delivery slot" testId="price-history" />
        ) : (
          <p class="muted" data-testid="price-history-empty">{history.value ? 'No traded slot yet: the chart starts with the first trade.' : 'Loading…'}</p>
        )}
      </section>
      <section class="card" aria-labelledby="homes-title">
        <h3 id="homes-title">Homes</h3>
        <div class="table-wrap">
          <table class="homes" data-testid="homes">
            <thead>
              <tr><th scope="col">Home</th><th scope="col">Power now</th><th scope="col">Imported</th><th scope="col">Exported</th><th scope="col">Reading</th></tr>
            </thead>
            <tbody>
              {sorted.map((h) => (
                <tr key={h.meter} data-meter={h.meter} data-seq={h.seq}>
                  <td>{h.name}</td>
                  <td class={h.powerW < 0 ? 'export' : 'import'} data-testid="power" data-power-w={h.powerW}>
                    {h.powerW < 0 ? `exporting ${fmtW(-h.powerW)}` : `importing ${fmtW(h.powerW)}`}
                  </td>
                  <td>{fmtKWh(h.importWh)}</td>
                  <td>{fmtKWh(h.exportWh)}</td>
                  <td title={`seq ${h.seq}`}>{h.verified ? '✔ signed' : 'unverified'} · {fmtTimeS(h.timestamp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {sorted.length === 0 && <p>No readings yet — waiting for the homes' bridges.</p>}
      </section>
      {view.market && <p class="muted small">Prices: floor (feed-in) {fmtPrice(view.market.info.floor)}, cap (retail) {fmtPrice(view.market.info.cap)}.</p>}
    </div>
  );
}
