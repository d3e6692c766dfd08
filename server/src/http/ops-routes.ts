// Service routes: chain facts, operator view, demo homes (demo mode only), OpenAPI document, test clock (test mode only).
import { Router } from 'express';
import { ErrorCode, type Address } from '@gridmesh/contracts-abi';
import type { Store } from '../store/index.ts';
import type { Registry } from '../registry/registry.ts';
import type { LiveState } from '../realtime/live-state.ts';
import type { MarketRuntime } from '../orders/market-runtime.ts';
import { marketInfo } from '../orders/market-settings.ts';
import { slotInfo } from '../orders/views.ts';
import type { ManualClock, Clock } from '../slots/clock.ts';
import { openApiDocument } from './openapi.ts';
import { HttpError } from './errors.ts';

export interface ChainInfo {
  chainId: number;
  rpcUrl: string | null;
  embedded: boolean;
  operator: string | null;
  addresses: { gridToken: string; energyMarket: string; rewardToken: string } | null;
  withdrawalDelaySeconds: number | null;
}

export interface DemoHomeKey { name: string; owner: Address; privateKey: string; meter: Address; pvPeakW: number }

/** What the operator view shows of settlement and rewards; supplied by the settlement/chain integration when present. */
export interface OperatorSources {
  batches?(): Promise<unknown[]>;
  outboxDepth?(): Promise<number>;
  rewardEpochs?(): Promise<unknown[]>;
}

export interface OpsRouteDeps {
  store: Store;
  registry: Registry;
  live: LiveState;
  markets: ReadonlyMap<string, MarketRuntime>;
  clock: Clock;
  chain: () => ChainInfo;
  demoHomes?: () => DemoHomeKey[];
  operator: OperatorSources;
  testClock?: ManualClock;
  onClockMoved?: () => Promise<void>;
  baseUrl: () => string;
}

export function opsRoutes(deps: OpsRouteDeps): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => { res.json(openApiDocument(deps.baseUrl())); });
  r.get('/chain', (_req, res) => { res.json({ ...deps.chain(), token: { symbol: 'GRID', decimals: 6 } }); });
  r.get('/demo/homes', (_req, res) => {
    if (!deps.demoHomes) throw new HttpError(404, { code: ErrorCode.NOT_FOUND, message: 'not running as the embedded demo' });
    res.json({ demo: true, warning: 'DEMO ONLY: these private keys are public; never use them for real value.', homes: deps.demoHomes() });
  });
  r.get('/operator', async (_req, res) => {
    const now = deps.clock.now();
    const markets = [...deps.markets.values()];
    const slots = [];
    const grid = [];
    for (const rt of markets) {
      const recent = await deps.store.market.slots(rt.settings.id, now - 3_600_000, now + rt.settings.horizonMs + 1);
      slots.push(...recent.map((s) => slotInfo(s, rt.settings)));
      for (const s of recent.filter((x) => x.slot + rt.settings.slotMs <= now).slice(-60)) {
        const [rows, computed] = await Promise.all([
          deps.store.settlements?.participantsOf(rt.settings.id, s.slot).catch(() => []) ?? [],
          deps.store.settlements?.get(rt.settings.id, s.slot).catch(() => null) ?? null,
        ]);
        const tradedIn = rows.reduce((a, p) => a + p.boughtDeliveredWh, 0);
        const tradedOut = rows.reduce((a, p) => a + p.deliveredWh, 0);
        const c = computed?.community;
        if (c) {
          // Every home metered over the slot: demand not met by neighbours' delivered trades, and the net exchange at the transformer.
          grid.push({
            market: rt.settings.id, slot: s.slot, metered: c.meteredHomes > 0, homes: c.homes, meteredHomes: c.meteredHomes,
            importWh: c.importWh, exportWh: c.exportWh,
            unmetDemandWh: Math.max(0, c.importWh - tradedIn), unmatchedSupplyWh: Math.max(0, c.exportWh - tradedOut),
            communityImportWh: Math.max(0, c.importWh - c.exportWh), communityExportWh: Math.max(0, c.exportWh - c.importWh),
          });
          continue;
        }
        // Slots settled before community metering was recorded: only the homes that traded are known.
        let importWh = 0;
        let exportWh = 0;
        for (const p of rows) {
          importWh += Math.max(0, p.meteredImportWh - p.boughtDeliveredWh);
          exportWh += Math.max(0, p.meteredExportWh - p.deliveredWh);
        }
        grid.push({ market: rt.settings.id, slot: s.slot, unmetDemandWh: importWh, unmatchedSupplyWh: exportWh, communityImportWh: importWh, communityExportWh: exportWh, metered: rows.length > 0 });
      }
    }
    const bridges = deps.registry.listHomes().map((h) => {
      const link = deps.live.link(h.meter);
      const latest = deps.live.get(h.meter);
      return { meter: h.meter, name: h.name, online: link?.online ?? false, since: link?.since ?? null, lastReadingAgeMs: latest ? now - latest.timestamp : null, outboxDepth: link?.outboxDepth ?? null };
    });
    res.json({
      markets: markets.map((rt) => marketInfo(rt.settings, now)),
      slots,
      settlement: { outboxDepth: (await deps.operator.outboxDepth?.()) ?? 0, batches: (await deps.operator.batches?.()) ?? [] },
      rewardEpochs: (await deps.operator.rewardEpochs?.()) ?? [],
      grid,
      bridges,
    });
  });
  if (deps.testClock) {
    const clock = deps.testClock;
    r.get('/test/clock', (_req, res) => { res.json({ now: clock.now() }); });
    r.post('/test/clock', async (req, res) => {
      const now = (req.body as { now?: unknown } | undefined)?.now;
      if (typeof now !== 'number' || !Number.isSafeInteger(now) || now < clock.now()) {
        throw HttpError.badRequest('now must be an integer ms not before the current test clock', [{ field: '/now', message: 'must be ≥ the current time' }]);
      }
      clock.set(now);
      await deps.onClockMoved?.();
      res.json({ now: clock.now() });
    });
  }
  return r;
}
