// MongoDB adapter of the store port (mongoose): for deployments; selected when MONGODB_URI is set.
import mongoose, { Schema, type Connection } from 'mongoose';
import type { Address, Hex, MeterRole, PhaseTelemetry } from '@gridmesh/contracts-abi';
import type { MeterRecord, ParticipantRecord, Store, StoredReading } from './port.ts';
import { mongoSettlementRepo } from './settlement-mongo.ts';
import { mongoRulesRepo } from './rules-mongo.ts';
import { mongoMarketRepo } from './market-mongo.ts';

const key = (a: string) => a.toLowerCase();

interface ParticipantDoc { _id: string; name: string; createdAt: number }
interface MeterDoc { _id: string; owner: string; role: string; capacityW: number; label: string | null; nonce: number; bindingSignature: string; createdAt: number }
interface ReadingDoc {
  meter: string; seq: number; timestamp: number; importWh: number; exportWh: number; powerW: number; flags: number;
  signature: string; phases: PhaseTelemetry[] | null; receivedAt: number;
}

const participantSchema = new Schema<ParticipantDoc>({ _id: String, name: { type: String, required: true }, createdAt: Number }, { versionKey: false });
const meterSchema = new Schema<MeterDoc>(
  { _id: String, owner: { type: String, index: true }, role: String, capacityW: Number, label: { type: String, default: null }, nonce: Number, bindingSignature: String, createdAt: Number },
  { versionKey: false },
);
const readingSchema = new Schema<ReadingDoc>(
  {
    meter: { type: String, required: true }, seq: { type: Number, required: true }, timestamp: Number, importWh: Number, exportWh: Number,
    powerW: Number, flags: Number, signature: String, phases: { type: Schema.Types.Mixed, default: null }, receivedAt: Number,
  },
  { versionKey: false },
);
// Idempotency of readings rests on this unique index: a resent (meter, seq) is a duplicate-key no-op.
readingSchema.index({ meter: 1, seq: 1 }, { unique: true });
readingSchema.index({ meter: 1, timestamp: 1 });

const toReading = (d: ReadingDoc): StoredReading => ({
  meter: d.meter as Address, seq: d.seq, timestamp: d.timestamp, importWh: d.importWh, exportWh: d.exportWh, powerW: d.powerW,
  flags: d.flags, signature: d.signature as Hex, phases: d.phases ?? null, receivedAt: d.receivedAt,
});
const toMeter = (d: MeterDoc): MeterRecord => ({
  meter: d._id as Address, owner: d.owner as Address, role: d.role as MeterRole, capacityW: d.capacityW, label: d.label ?? null,
  nonce: d.nonce, bindingSignature: d.bindingSignature as Hex, createdAt: d.createdAt,
});
const toParticipant = (d: ParticipantDoc): ParticipantRecord => ({ address: d._id as Address, name: d.name, createdAt: d.createdAt });

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

export async function openMongoStore(uri: string): Promise<Store> {
  const conn: Connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
  const Participants = conn.model<ParticipantDoc>('Participant', participantSchema, 'participants');
  const Meters = conn.model<MeterDoc>('Meter', meterSchema, 'meters');
  const Readings = conn.model<ReadingDoc>('Reading', readingSchema, 'readings');
  await Promise.all([Participants.init(), Meters.init(), Readings.init()]);
  const [settlements, rules] = await Promise.all([mongoSettlementRepo(conn), mongoRulesRepo(conn)]);
  const market = await mongoMarketRepo(conn);

  return {
    kind: 'mongodb',
    settlements,
    rules,
    market,
    participants: {
      async upsert(p) {
        const doc = await Participants.findOneAndUpdate(
          { _id: key(p.address) },
          { $set: { name: p.name }, $setOnInsert: { createdAt: p.createdAt } },
          { upsert: true, new: true, lean: true },
        );
        return toParticipant(doc as ParticipantDoc);
      },
      async get(address) {
        const doc = await Participants.findById(key(address)).lean<ParticipantDoc>();
        return doc ? toParticipant(doc) : null;
      },
      async list() {
        const docs = await Participants.find().sort({ createdAt: 1, _id: 1 }).lean<ParticipantDoc[]>();
        return docs.map(toParticipant);
      },
    },
    meters: {
      async bind(m) {
        const fields = { role: m.role, capacityW: m.capacityW, label: m.label, nonce: m.nonce, bindingSignature: m.bindingSignature };
        try {
          await Meters.create({ _id: key(m.meter), owner: key(m.owner), createdAt: m.createdAt, ...fields });
          const doc = await Meters.findById(key(m.meter)).lean<MeterDoc>();
          return { created: true, conflict: false, record: toMeter(doc!) };
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
        }
        const updated = await Meters.findOneAndUpdate({ _id: key(m.meter), owner: key(m.owner) }, { $set: fields }, { new: true, lean: true });
        if (updated) return { created: false, conflict: false, record: toMeter(updated as MeterDoc) };
        const existing = await Meters.findById(key(m.meter)).lean<MeterDoc>();
        return { created: false, conflict: true, record: toMeter(existing!) };
      },
      async get(meter) {
        const doc = await Meters.findById(key(meter)).lean<MeterDoc>();
        return doc ? toMeter(doc) : null;
      },
      async list() {
        const docs = await Meters.find().sort({ createdAt: 1, _id: 1 }).lean<MeterDoc[]>();
        return docs.map(toMeter);
      },
    },
    readings: {
      async insertMany(readings) {
        if (readings.length === 0) return { inserted: 0, existing: 0 };
        const docs = readings.map((r) => ({ ...r, meter: key(r.meter) }));
        try {
          const res = await Readings.insertMany(docs, { ordered: false, rawResult: true });
          return { inserted: res.insertedCount, existing: readings.length - res.insertedCount };
        } catch (err) {
          // Unordered insert: duplicates are skipped, the rest are written; anything but duplicate keys is a real failure.
          const e = err as { writeErrors?: { code?: number; err?: { code?: number } }[]; insertedDocs?: unknown[]; result?: { insertedCount?: number } };
          const writeErrors = e.writeErrors ?? [];
          if (writeErrors.length === 0 || !writeErrors.every((w) => (w.code ?? w.err?.code) === 11000)) throw err;
          const inserted = readings.length - writeErrors.length;
          return { inserted, existing: writeErrors.length };
        }
      },
      async getBySeq(meter, seqs) {
        const docs = await Readings.find({ meter: key(meter), seq: { $in: seqs } }).sort({ seq: 1 }).lean<ReadingDoc[]>();
        return docs.map(toReading);
      },
      async latest(meter) {
        const doc = await Readings.findOne({ meter: key(meter) }).sort({ seq: -1 }).lean<ReadingDoc>();
        return doc ? toReading(doc) : null;
      },
      async range(meter, range) {
        const docs = await Readings.find({ meter: key(meter), timestamp: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } })
          .sort({ timestamp: 1, seq: 1 })
          .limit(range.limit ?? 10_000)
          .lean<ReadingDoc[]>();
        return docs.map(toReading);
      },
      async count(meter) {
        return Readings.countDocuments(meter ? { meter: key(meter) } : {});
      },
    },
    async close() {
      await conn.close();
    },
  };
}
