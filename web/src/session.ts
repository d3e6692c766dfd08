// Sign-in: an injected EIP-1193 wallet, a demo key made in this browser, or a demo home's key; SIWE (EIP-4361) session with the server.
import type { TypedDataField } from 'ethers';
import { api, get, post, setSessionToken } from './lib/api.ts';
import { liveLink } from './live.ts';

export type SignerKind = 'wallet' | 'browser-key' | 'demo-home';

export interface SessionSigner {
  kind: SignerKind;
  address: `0x${string}`;
  signTypedData(domain: Record<string, unknown>, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<`0x${string}`>;
  signMessage(message: string): Promise<`0x${string}`>;
  /** Private key, only for keys made or picked in this browser (never for an injected wallet). */
  exportKey?(): string;
}

export interface Session {
  signer: SessionSigner;
  label: string;
  token: string | null;
  chainId: number;
  /** Why the server session failed, if it did (orders then cannot be placed). */
  error: string | null;
}

export interface DemoHomeKey {
  name: string;
  owner: `0x${string}`;
  privateKey: string;
  meter: string;
  pvPeakW?: number;
}

type SessionListener = (s: Session | null) => void;
let current: Session | null = null;
const listeners = new Set<SessionListener>();
const LOCAL_KEY = 'gridmesh.demo-key';

const STORED = 'gridmesh.session';
interface StoredSession {
  kind: SignerKind;
  label: string;
  token: string;
  chainId: number;
  privateKey?: string;
}

function setSession(s: Session | null): void {
  current = s;
  // Survive a reload within this tab (keys made or picked here only; a wallet reconnects by itself on the next sign-in).
  if (s?.token && s.signer.kind !== 'wallet') {
    const stored: StoredSession = { kind: s.signer.kind, label: s.label, token: s.token, chainId: s.chainId, privateKey: s.signer.exportKey?.() };
    sessionStorage.setItem(STORED, JSON.stringify(stored));
  } else sessionStorage.removeItem(STORED);
  setSessionToken(s?.token ?? null);
  liveLink().setToken(s?.token ?? null);
  for (const l of listeners) l(s);
}
export const session = (): Session | null => current;
export function onSession(l: SessionListener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** What on-chain actions sign with: the injected wallet, or the key held in this browser. */
export function chainKey(s: Session): { privateKey?: string; ethereum?: InjectedProvider } {
  return s.signer.kind === 'wallet' ? { ethereum: injected() } : { privateKey: s.signer.exportKey?.() };
}

/** Signing code is loaded only when someone signs in, so the first paint does not pay for it. */
async function keySigner(kind: 'browser-key' | 'demo-home', privateKey: string): Promise<SessionSigner> {
  const { localKey } = await import('./lib/local-signer.ts');
  const k = localKey(privateKey);
  return {
    kind,
    address: k.address,
    signTypedData: async (d, t, v) => k.signTypedData(d, t, v),
    signMessage: async (m) => k.signMessage(m),
    exportKey: () => privateKey,
  };
}

type InjectedProvider = import('./lib/injected-signer.ts').Eip1193;
const injected = (): InjectedProvider | undefined => (typeof window === 'undefined' ? undefined : (window as unknown as { ethereum?: InjectedProvider }).ethereum);
export const hasInjectedWallet = (): boolean => !!injected();

async function walletSigner(): Promise<SessionSigner> {
  const { injectedSigner } = await import('./lib/injected-signer.ts');
  const s = await injectedSigner(injected()!);
  return { kind: 'wallet', ...s };
}

/** EIP-4361 message with exactly the values the server handed out with the nonce (server/API.md). */
export function siweMessage(p: { domain: string; uri: string; address: string; chainId: number; nonce: string; issuedAt: string; expirationTime?: string; statement?: string | null; version?: string }): string {
  const lines = [`${p.domain} wants you to sign in with your Ethereum account:`, p.address, ''];
  if (p.statement) lines.push(p.statement, '');
  lines.push(`URI: ${p.uri}`, `Version: ${p.version ?? '1'}`, `Chain ID: ${p.chainId}`, `Nonce: ${p.nonce}`, `Issued At: ${p.issuedAt}`);
  if (p.expirationTime) lines.push(`Expiration Time: ${p.expirationTime}`);
  return lines.join('\n');
}

interface NonceResponse {
  nonce: string;
  domain: string;
  uri: string;
  chainId: number;
  version: string;
  statement: string | null;
  issuedAt: string;
  expiresAt: string;
}
interface VerifyResponse {
  token: string;
  address: string;
  name: string | null;
  expiresAt: number;
}

async function establish(signer: SessionSigner, label: string, name?: string, knownName?: string): Promise<Session> {
  let token: string | null = null;
  let error: string | null = null;
  let chainId = 0;
  let registeredName: string | null = null;
  try {
    const n = await get<NonceResponse>('/auth/nonce');
    chainId = n.chainId;
    const message = siweMessage({ domain: n.domain, uri: n.uri, address: signer.address, chainId: n.chainId, nonce: n.nonce, issuedAt: n.issuedAt, statement: n.statement, version: n.version });
    const signature = await signer.signMessage(message);
    const verified = await post<VerifyResponse>('/auth/verify', { message, signature });
    token = verified.token;
    registeredName = verified.name;
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  if (name && token && !registeredName) {
    // A fresh key introduces itself once so the neighbourhood sees a name instead of an address.
    await registerParticipant(signer, chainId, name).catch(() => undefined);
    registeredName = name;
  }
  const shown = registeredName ?? knownName;
  const s: Session = { signer, label: shown ? `${label} · ${shown}` : label, token, chainId, error };
  setSession(s);
  return s;
}

async function registerParticipant(signer: SessionSigner, chainId: number, name: string): Promise<void> {
  const { ParticipantTypes, gridmeshDomain } = await import('@gridmesh/contracts-abi/eip712.ts');
  const signature = await signer.signTypedData({ ...gridmeshDomain(chainId) }, ParticipantTypes, { participant: signer.address, name });
  await api('POST', '/participants', { address: signer.address, name, signature });
}

export async function signInWithWallet(): Promise<Session> {
  return establish(await walletSigner(), 'wallet');
}

/** A key generated and kept in this browser's localStorage, clearly labelled as a demo key. */
export async function signInWithBrowserKey(): Promise<Session> {
  let key = localStorage.getItem(LOCAL_KEY);
  if (!key) {
    const { randomPrivateKey } = await import('./lib/local-signer.ts');
    key = randomPrivateKey();
    localStorage.setItem(LOCAL_KEY, key);
  }
  const signer = await keySigner('browser-key', key);
  return establish(signer, 'demo key (this browser)', `Visitor ${signer.address.slice(2, 6)}`);
}

export async function demoHomes(): Promise<DemoHomeKey[]> {
  return (await get<{ homes: DemoHomeKey[] }>('/demo/homes')).homes;
}

export async function signInAsDemoHome(home: DemoHomeKey): Promise<Session> {
  return establish(await keySigner('demo-home', home.privateKey), 'demo home', undefined, home.name);
}

/** Restores this tab's session after a reload if the server still accepts its token. */
export async function restoreSession(): Promise<void> {
  const raw = sessionStorage.getItem(STORED);
  if (!raw || current) return;
  try {
    const stored = JSON.parse(raw) as StoredSession;
    if (!stored.privateKey || stored.kind === 'wallet') return;
    setSessionToken(stored.token);
    await get('/auth/me');
    const signer = await keySigner(stored.kind, stored.privateKey);
    setSession({ signer, label: stored.label, token: stored.token, chainId: stored.chainId, error: null });
  } catch {
    setSessionToken(null);
    sessionStorage.removeItem(STORED);
  }
}

export function signOut(): void {
  if (current?.token) void api('POST', '/auth/logout').catch(() => undefined);
  setSession(null);
}
