// Sign-in control in the header: wallet, browser demo key (exportable) or a demo home's key; shows who is signed in.
import { useEffect, useRef, useState } from 'preact/hooks';
import { shortAddr } from './lib/format.ts';
import { demoHomes, hasInjectedWallet, onSession, session, signInAsDemoHome, signInWithBrowserKey, signInWithWallet, signOut, type DemoHomeKey, type Session } from './session.ts';

export function useSession(): Session | null {
  const [s, setS] = useState<Session | null>(session());
  useEffect(() => onSession(setS), []);
  return s;
}

export function SessionBar() {
  const s = useSession();
  const [open, setOpen] = useState(false);
  const [homes, setHomes] = useState<DemoHomeKey[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [showKey, setShowKey] = useState(false);
  const dialog = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open || homes) return;
    demoHomes().then(setHomes, () => setHomes([]));
  }, [open]);
  useEffect(() => {
    if (open) dialog.current?.querySelector<HTMLElement>('button, select')?.focus();
  }, [open]);

  const run = async (fn: () => Promise<Session>) => {
    setBusy(true);
    setError(null);
    try {
      const result = await fn();
      if (result.error) setError(`signed in locally, but the server session failed: ${result.error}`);
      else setOpen(false);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  if (s && !open) {
    return (
      <div class="session" data-testid="session">
        <span class={`badge badge-${s.signer.kind}`} title={s.signer.address}>
          {s.signer.kind === 'wallet' ? 'wallet' : 'demo key'}
        </span>
        <span data-testid="session-label">{s.label}</span> <code>{shortAddr(s.signer.address)}</code>
        {s.error && <span class="error" role="alert"> · not signed in to server: {s.error}</span>}
        {s.signer.exportKey && (
          <button type="button" class="small" onClick={() => setShowKey(!showKey)} aria-expanded={showKey}>
            {showKey ? 'hide key' : 'export key'}
          </button>
        )}
        <button type="button" class="small" onClick={() => setOpen(true)}>switch</button>
        <button type="button" class="small" onClick={() => signOut()}>sign out</button>
        {showKey && s.signer.exportKey && (
          <p class="keybox">
            Demo key — anyone holding it controls this account. <code data-testid="exported-key">{s.signer.exportKey()}</code>
          </p>
        )}
      </div>
    );
  }
  return (
    <div class="session">
      {!open && (
        <button type="button" onClick={() => setOpen(true)} data-testid="sign-in">
          Sign in
        </button>
      )}
      {open && (
        <div class="signin" ref={dialog} role="dialog" aria-label="Sign in" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          {hasInjectedWallet() && (
            <button type="button" disabled={busy} onClick={() => run(signInWithWallet)} data-testid="sign-in-wallet">
              Connect wallet
            </button>
          )}
          <button type="button" disabled={busy} onClick={() => run(signInWithBrowserKey)} data-testid="sign-in-browser-key">
            Use a demo key made in this browser
          </button>
          {homes && homes.length > 0 && (
            <label>
              Act as demo home{' '}
              <select
                data-testid="demo-home-select"
                disabled={busy}
                onChange={(e) => {
                  const h = homes.find((x) => x.owner === (e.target as HTMLSelectElement).value);
                  if (h) void run(() => signInAsDemoHome(h));
                }}
              >
                <option value="">choose…</option>
                {homes.map((h) => (
                  <option key={h.owner} value={h.owner}>
                    {h.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          {homes && homes.length === 0 && <span class="muted">no demo homes on this server</span>}
          <button type="button" class="small" onClick={() => setOpen(false)}>cancel</button>
          {busy && <span class="muted">signing in…</span>}
          {error && <p class="error" role="alert">{error}</p>}
        </div>
      )}
    </div>
  );
}
