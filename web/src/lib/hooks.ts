// Preact hooks over the shared live link, the hash route and one-shot REST fetches that refresh on live events.
import { useEffect, useState } from 'preact/hooks';
import { liveLink, type LiveView } from '../live.ts';
import { get } from './api.ts';
import type { MarketInfo } from './wire.ts';

export function useLive(): LiveView {
  const link = liveLink();
  const [view, setView] = useState<LiveView>(link.current);
  useEffect(() => link.subscribe(setView), [link]);
  return view;
}

export type Route = 'trade' | 'home' | 'flows' | 'operator';
export const ROUTES: { id: Route; label: string }[] = [
  { id: 'trade', label: 'Trade' },
  { id: 'home', label: 'My home' },
  { id: 'flows', label: 'Neighbourhood flows' },
  { id: 'operator', label: 'Operator' },
];

function parseHash(): Route {
  const id = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return (ROUTES.find((r) => r.id === id)?.id ?? 'flows') as Route;
}

/** Hash routing: the server serves static files without an SPA fallback, so deep links must live after the `#`. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(parseHash());
  useEffect(() => {
    const onHash = () => setRoute(parseHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

/** Re-runs `load` whenever one of `deps` changes (e.g. the live epoch after a reconnect or a trade event count). */
export function useFetched<T>(load: () => Promise<T>, deps: unknown[]): { value: T | null; error: string | null } {
  const [state, setState] = useState<{ value: T | null; error: string | null }>({ value: null, error: null });
  useEffect(() => {
    let alive = true;
    load().then(
      (value) => alive && setState({ value, error: null }),
      (err: unknown) => alive && setState((s) => ({ value: s.value, error: err instanceof Error ? err.message : String(err) })),
    );
    return () => {
      alive = false;
    };
  }, deps);
  return state;
}

let marketRequested = false;
/** The live state with the (first) market subscribed: the first caller picks the market from GET /api/markets. */
export function useMarketLive(): LiveView {
  const view = useLive();
  useEffect(() => {
    if (marketRequested) return;
    marketRequested = true;
    get<MarketInfo[]>('/markets').then(
      (markets) => {
        if (markets.length) void liveLink().subscribeMarket(markets[0].id);
      },
      () => {
        marketRequested = false;
      },
    );
  }, []);
  return view;
}

/** Wall clock that ticks every `ms` (for slot countdowns and reading ages); a render timer, not a data poll. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
