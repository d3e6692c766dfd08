// REST client of the documented server API (server/API.md): JSON in and out, WireError bodies surfaced with their field pointers.
import type { FieldError, WireError } from '@gridmesh/contracts-abi/errors.ts';

export class ApiError extends Error {
  constructor(readonly status: number, readonly wire: WireError) {
    super(wire.message);
    this.name = 'ApiError';
  }
  get fields(): FieldError[] {
    return this.wire.fields ?? [];
  }
}

let bearer: string | null = null;
/** The session token from sign-in, sent with every request that needs the participant. */
export function setSessionToken(token: string | null): void {
  bearer = token;
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const wire = (parsed && typeof parsed === 'object' && 'code' in parsed ? parsed : { code: 'INTERNAL', message: `${res.status} ${res.statusText}` }) as WireError;
    throw new ApiError(res.status, wire);
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});

/** Field errors keyed by the last segment of their JSON pointer (`/price` → `price`, `/order/quantityWh` → `quantityWh`). */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof ApiError) for (const f of err.fields) out[f.field.split('/').filter(Boolean).pop() ?? ''] = f.message;
  return out;
}

/** Whether an endpoint is absent on this server (404 on a GET route we build against the documented shape). */
export const isMissing = (err: unknown): boolean => err instanceof ApiError && err.status === 404 && err.wire.code === 'NOT_FOUND';

export function toCsv(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '';
  const cols = Object.keys(rows[0]);
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

export function downloadCsv(name: string, rows: Record<string, unknown>[]): void {
  const blob = new Blob([toCsv(rows)], { type: 'text/csv' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
