// The dashboard shell: navigation (hash routes), the live connection indicator, sign-in, and code-split pages.
import { lazy, Suspense } from 'preact/compat';
import { useEffect } from 'preact/hooks';
import { useLive, useRoute, ROUTES, type Route } from './lib/hooks.ts';
import { FlowsPage } from './pages/flows.tsx';
import { SessionBar } from './session-bar.tsx';

const TradePage = lazy(() => import('./pages/trade.tsx').then((m) => ({ default: m.TradePage })));
const HomePage = lazy(() => import('./pages/home.tsx').then((m) => ({ default: m.HomePage })));
const OperatorPage = lazy(() => import('./pages/operator.tsx').then((m) => ({ default: m.OperatorPage })));

function ConnectionIndicator() {
  const view = useLive();
  // While the link is down the page keeps the last known values, dimmed, so nobody mistakes them for live ones.
  useEffect(() => {
    document.body.classList.toggle('stale', view.link === 'reconnecting');
  }, [view.link]);
  const text = view.link === 'live' ? 'live' : view.link === 'connecting' ? 'connecting…' : 'reconnecting…';
  return (
    <span class={`link link-${view.link}`} role="status" aria-live="polite" data-testid="link-state" data-reconnects={view.reconnects} title={`updates #${view.seq}, reconnects ${view.reconnects}, re-synced ${view.gapResyncs}×`}>
      <span class="dot" aria-hidden="true" />
      {text}
      {view.reconnects > 0 && view.link === 'live' && <span class="sub" data-testid="reconnected"> · reconnected{view.reconnects > 1 ? ` ×${view.reconnects}` : ''}</span>}
    </span>
  );
}

function Page({ route }: { route: Route }) {
  if (route === 'trade') return <TradePage />;
  if (route === 'home') return <HomePage />;
  if (route === 'operator') return <OperatorPage />;
  return <FlowsPage />;
}

export function App() {
  const route = useRoute();
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <h1>gridmesh</h1>
        <nav aria-label="Pages">
          {ROUTES.map((r) => (
            <a key={r.id} href={`#/${r.id}`} aria-current={route === r.id ? 'page' : undefined} data-testid={`nav-${r.id}`}>
              {r.label}
            </a>
          ))}
        </nav>
        <ConnectionIndicator />
        <SessionBar />
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p class="muted">Loading…</p>}>
          <Page route={route} />
        </Suspense>
      </main>
    </>
  );
}
