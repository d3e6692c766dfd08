// Query-string parsing shared by the REST routes: integers within bounds, or a 400 naming the parameter.
import type { Request } from 'express';
import { HttpError } from './errors.ts';

export function intQuery(req: Request, name: string, fallback: number, min?: number, max?: number): number;
export function intQuery(req: Request, name: string, fallback: number | undefined, min?: number, max?: number): number | undefined;
export function intQuery(req: Request, name: string, fallback: number | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = req.query[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || n < min || n > max) {
    throw HttpError.badRequest(`query ${name} must be an integer in [${min}, ${max}]`, [{ field: `/query/${name}`, message: `must be an integer in [${min}, ${max}]` }]);
  }
  return n;
}
