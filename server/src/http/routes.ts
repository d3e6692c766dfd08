// REST routes of the thin server: health, participants, meters with their latest reading, readings by time range.
import { Router, type Request } from 'express';
import { ErrorCode, type Address, type MeterRegistration, type ParticipantRegistration } from '@gridmesh/contracts-abi';
import type { Registry } from '../registry/registry.ts';
import type { Store, StoredReading } from '../store/index.ts';
import type { LiveState } from '../realtime/live-state.ts';
import { HttpError } from './errors.ts';
import { intQuery } from './query.ts';
import { validateBody } from './validate-body.ts';

export interface RouteDeps {
  store: Store;
  registry: Registry;
  live: LiveState;
  chainId: number;
  startedAt: number;
  now: () => number;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function addressParam(req: Request, name: string): Address {
  const value = String(req.params[name] ?? '');
  if (!ADDRESS.test(value)) throw HttpError.badRequest(`${name} must be an address (0x + 40 hex)`, [{ field: `/params/${name}`, message: 'must be an address' }]);
  return value.toLowerCase() as Address;
}

export interface ReadingBucket {
  start: number; end: number; count: number; importWh: number; exportWh: number; avgPowerW: number; minPowerW: number; maxPowerW: number;
}

/** Buckets of `bucketMs` aligned to the epoch; energy = register increase from the previous reading (so buckets sum up). */
export function downsample(readings: StoredReading[], bucketMs: number): ReadingBucket[] {
  const out: ReadingBucket[] = [];
  let prev: StoredReading | null = null;
  let cur: (ReadingBucket & { sum: number }) | null = null;
  for (const r of readings) {
    const start = r.timestamp - (r.timestamp % bucketMs);
    if (!cur || cur.start !== start) {
      if (cur) { const { sum, ...b } = cur; out.push({ ...b, avgPowerW: Math.round(sum / b.count) }); }
      cur = { start, end: start + bucketMs, count: 0, importWh: 0, exportWh: 0, avgPowerW: 0, minPowerW: r.powerW, maxPowerW: r.powerW, sum: 0 };
    }
    cur.count++;
    cur.sum += r.powerW;
    cur.minPowerW = Math.min(cur.minPowerW, r.powerW);
    cur.maxPowerW = Math.max(cur.maxPowerW, r.powerW);
    if (prev) {
      cur.importWh += Math.max(0, r.importWh - prev.importWh);
      cur.exportWh += Math.max(0, r.exportWh - prev.exportWh);
    }
    prev = r;
  }
  if (cur) { const { sum, ...b } = cur; out.push({ ...b, avgPowerW: Math.round(sum / b.count) }); }
  return out;
}

export function apiRoutes(deps: RouteDeps): Router {
  const r = Router();

  r.get('/health', (_req, res) => {
    res.json({ ok: true, chainId: deps.chainId, store: deps.store.kind, uptimeS: Math.round((deps.now() - deps.startedAt) / 1000) });
  });

  r.post('/participants', validateBody('ParticipantRegistration'), async (req, res) => {
    const outcome = await deps.registry.registerParticipant(req.body as ParticipantRegistration);
    if (!outcome.ok) throw HttpError.fromWire(outcome.status, outcome.error);
    res.status(outcome.created ? 201 : 200).json(outcome.record);
  });

  r.get('/participants', async (_req, res) => {
    res.json(await deps.store.participants.list());
  });

  r.post('/meters', validateBody('MeterRegistration'), async (req, res) => {
    const outcome = await deps.registry.bindMeter(req.body as MeterRegistration);
    if (!outcome.ok) throw HttpError.fromWire(outcome.status, outcome.error);
    res.status(outcome.created ? 201 : 200).json(outcome.record);
  });

  r.get('/meters', async (_req, res) => {
    const meters = await deps.store.meters.list();
    res.json(
      meters.map((m) => {
        const live = deps.live.get(m.meter);
        const home = deps.registry.home(m.meter);
        const link = deps.live.link(m.meter);
        return {
          meter: m.meter, owner: m.owner, ownerName: home?.name ?? null, role: m.role, capacityW: m.capacityW, label: m.label,
          latest: live
            ? { seq: live.seq, timestamp: live.timestamp, importWh: live.importWh, exportWh: live.exportWh, powerW: live.powerW, signatureVerified: live.verified, ageMs: deps.now() - live.timestamp }
            : null,
          link: link ? { online: link.online, since: link.since, outboxDepth: link.outboxDepth, sourceState: link.sourceState } : null,
        };
      }),
    );
  });

  r.get('/meters/:meter', async (req, res) => {
    const meter = await deps.store.meters.get(addressParam(req, 'meter'));
    if (!meter) throw new HttpError(404, { code: ErrorCode.NOT_FOUND, message: 'meter not registered' });
    res.json(meter);
  });

  r.get('/meters/:meter/readings', async (req, res) => {
    const meter = addressParam(req, 'meter');
    if (!(await deps.store.meters.get(meter))) throw new HttpError(404, { code: ErrorCode.NOT_FOUND, message: 'meter not registered' });
    const from = intQuery(req, 'from', 0);
    const to = intQuery(req, 'to', Number.MAX_SAFE_INTEGER);
    if (req.query.bucketMs !== undefined) {
      const bucketMs = intQuery(req, 'bucketMs', 60_000, 1000, 86_400_000) as number;
      const start = from as number;
      const end = Math.min(to as number, deps.now() + 1);
      if (end > start && (end - start) / bucketMs > 2000) throw HttpError.badRequest('at most 2000 buckets: widen bucketMs or narrow [from, to)', [{ field: '/query/bucketMs', message: 'gives more than 2000 buckets' }]);
      res.json(downsample(await deps.store.readings.range(meter, { from: start, to: end, limit: 1_000_000 }), bucketMs));
      return;
    }
    const limit = intQuery(req, 'limit', 1000, 1, 10_000);
    res.json(await deps.store.readings.range(meter, { from, to, limit }));
  });

  return r;
}
