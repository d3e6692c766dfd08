// ReadingIngest with the verify pool and group commit: per-meter order kept, counts exact, refused readings stop a batch.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import secp256k1 from 'secp256k1';
import { MeterReadingHasher, type Address, type Hex, type MeterReading, type SignedMeterReading } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { Store } from '../../server/src/store/index.ts';
import { ReadingIngest } from '../../server/src/ingest/ingest.ts';

const CHAIN = 31337;
const hasher = new MeterReadingHasher(CHAIN);

describe('reading ingestion with verify pool and group commit', function () {
  this.timeout(60_000);
  let dir: string;
  let store: Store;
  let ingest: ReadingIngest;
  const meters = Array.from({ length: 12 }, () => Wallet.createRandom());
  /** Native signing (libsecp256k1) keeps the test fast; the verifier test cross-checks against ethers. */
  const sign = (w: { privateKey: string }, r: MeterReading): SignedMeterReading => {
    const s = secp256k1.ecdsaSign(hasher.digest(r), Buffer.from(w.privateKey.slice(2), 'hex'));
    return { ...r, signature: ('0x' + Buffer.from(s.signature).toString('hex') + (27 + s.recid).toString(16)) as Hex };
  };
  const reading = (w: { address: string }, seq: number): MeterReading => ({ meter: w.address as Address, seq, timestamp: 1_764_000_000_000 + seq * 1000, importWh: 100 + seq, exportWh: 7 + 2 * seq, powerW: -5, flags: 0 });
  const batch = (w: ReturnType<typeof Wallet.createRandom>, from: number, n: number) => Array.from({ length: n }, (_, i) => sign(w, reading(w, from + i)));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-ingest-'));
    store = openSqliteStore(join(dir, 'store.db'));
    for (const m of meters) {
      await store.meters.bind({ meter: m.address.toLowerCase() as Address, owner: ('0x' + '1'.repeat(40)) as Address, role: 'grid', capacityW: 1, label: null, nonce: 0, bindingSignature: ('0x' + '0'.repeat(130)) as Hex, createdAt: 0 });
    }
    ingest = new ReadingIngest(store, CHAIN, () => 42, { verifyWorkers: 2, inlineAbove: 60 });
  });
  afterEach(async () => {
    await ingest.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('batches of many meters fired at once (several per meter, not awaited) are all committed in order, each counted once', async () => {
    const sends = meters.flatMap((m) => [0, 1, 2, 3].map((k) => ingest.ingest({ readings: batch(m, k * 25, 25) }, m.address as Address)));
    const results = await Promise.all(sends);
    for (const r of results) {
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.accepted, 25);
    }
    for (const m of meters) assert.equal(await store.readings.count(m.address as Address), 100);
    const resend = await ingest.ingest({ readings: batch(meters[0], 50, 25) }, meters[0].address as Address);
    assert.deepEqual([resend.accepted, resend.duplicates, resend.error], [0, 25, undefined]);
  });

  it('a wrong signature stops the batch there: earlier readings are committed, the error names the index', async () => {
    const m = meters[1];
    const readings = batch(m, 0, 10);
    readings[6] = sign(Wallet.createRandom(), reading(m, 6));
    const r = await ingest.ingest({ readings }, m.address as Address);
    assert.equal(r.accepted, 6);
    assert.equal(r.error?.code, 'BAD_SIGNATURE');
    assert.equal(r.error?.index, 6);
    assert.equal(r.lastSeq, 5);
    const next = await ingest.ingest({ readings: batch(m, 6, 4) }, m.address as Address);
    assert.equal(next.accepted, 4);
  });
});
