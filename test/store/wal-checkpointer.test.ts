// The background WAL checkpointer beside the market writer thread: the WAL keeps restarting from its start under a stream
// of group commits (the writer runs each cycle's last pass), nothing committed is lost, and bad settings are refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Wallet } from 'ethers';
import type { Address } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { MarketCommit } from '../../server/src/store/index.ts';
import { MarketWriterThread } from '../../server/src/store/market-writer-thread.ts';
import { sqliteMarketRepo } from '../../server/src/store/market-sqlite.ts';
import { WRITER_AUTOCHECKPOINT_FRAMES, WalCheckpointCoordinator, copyUntilRemainder, openWalLength, walCheckpointerSettings } from '../../server/src/store/wal-checkpointer.ts';

const SLOT = 1_764_000_000_000;
const START_FRAMES = 200;

/** One accepted order per participant: rows land on scattered pages of the participant and id indexes, as in order entry. */
function submission(participant: Address, nonce: number, time: number): MarketCommit {
  const id = `${participant}-${nonce}`;
  return {
    entry: { market: 'demo', slot: SLOT, command: JSON.stringify({ type: 'submit', id, participant, slot: SLOT, side: 'ask', price: '150000', quantityWh: 10, tif: 'gtc', time }), time },
    orders: [{
      id, market: 'demo', slot: SLOT, participant, side: 'ask', price: '150000', quantityWh: 10, filledWh: 0, remainingWh: 10, timeInForce: 'gtc',
      status: 'open', nonce, expiry: SLOT, signature: `0x${'11'.repeat(65)}`, signer: participant, source: 'manual', createdAt: time, updatedAt: time,
    }],
    trades: [],
    slots: [],
  };
}

function withEnv(vars: Record<string, string>, run: () => Promise<void>): Promise<void> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return run().finally(() => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

describe('store: WAL checkpointer beside the market writer thread', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gridmesh-wal-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Commits groups of 20 orders through a writer thread on a fresh store file: first until the checkpointer thread has
   * started (or `warmUp` groups), then `groups` more, reading the WAL's length (frames) after each; returns what it saw.
   */
  async function run(groups: number, warmUp: number) {
    const file = join(dir, 'store.db');
    const store = openSqliteStore(file); // creates the schema
    let open = true;
    const writer = new MarketWriterThread(file, () => open);
    const people = Array.from({ length: 400 }, () => Wallet.createRandom().address.toLowerCase() as Address);
    let nonce = 0;
    let committed = 0;
    const group = async () => {
      nonce += 1;
      await writer.commitMany(Array.from({ length: 20 }, (_, k) => submission(people[(nonce * 20 + k) % people.length], nonce, nonce)));
      committed += 20;
    };
    // The checkpointer thread takes a moment to start; measure once its first cycle is done.
    for (let g = 0; g < warmUp && ((await writer.checkpointStats())?.finals ?? 0) === 0; g++) await group();
    const wal = openWalLength(file);
    const walLengths: number[] = [];
    for (let g = 0; g < groups; g++) {
      await group();
      walLengths.push(wal.walLength());
    }
    wal.close();
    const stats = await writer.checkpointStats();
    open = false;
    await store.close();
    const db = new Database(file, { readonly: true });
    const rows = (db.prepare('SELECT count(*) AS n FROM orders').get() as { n: number }).n;
    const integrity = db.pragma('integrity_check', { simple: true });
    db.close();
    // A restart shows as the WAL's length dropping; SQLite's own checkpoint (the backstop) only runs at 8,000 frames.
    const restarts = walLengths.filter((n, i) => i > 0 && n < walLengths[i - 1] && walLengths[i - 1] < 8_000).length;
    return { stats, restarts, rows, committed, integrity };
  }

  it('keeps the WAL short under a stream of group commits: copied in the background, finished by the writer, nothing lost', async () => {
    await withEnv({ GRIDMESH_MARKET_WRITER_THREAD: '1', GRIDMESH_WAL_CHECKPOINT_FRAMES: String(START_FRAMES) }, async () => {
      const { stats, restarts, rows, committed, integrity } = await run(600, 2_000);
      assert.ok(stats, 'the checkpointer runs');
      assert.ok(stats.passes >= 3, `copying passes ran (${stats.passes})`);
      assert.ok(stats.finals >= 3, `the writer finished cycles (${stats.finals})`);
      // 600 groups of 20 orders on scattered pages write ≈ 40,000 frames.
      assert.ok(restarts >= 5, `the WAL restarted from its start before SQLite's own checkpoint would run (${restarts} times)`);
      assert.equal(rows, committed, 'every committed order is in the database');
      assert.equal(integrity, 'ok');
    });
  });

  it('copies in passes until what the writer appended meanwhile is small, and hands over the true remainder', () => {
    const file = join(dir, 'passes.db');
    const writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (k TEXT, v BLOB); CREATE INDEX t_k ON t(k)');
    const insert = writer.prepare('INSERT INTO t VALUES (?, ?)');
    /** Random keys: every row lands on its own index page, as orders do on the participant indexes. */
    const commitRows = writer.transaction((n: number) => { for (let i = 0; i < n; i++) insert.run(randomBytes(20).toString('hex'), Buffer.alloc(64)); });
    /** Groups of 10 rows, one transaction each: ≈ 11 WAL frames per group once the index has a few hundred pages. */
    const commitGroups = (groups: number) => { for (let g = 0; g < groups; g++) commitRows(10); };
    commitRows(20_000);
    const checkpointer = new Database(file);
    const reader = new Database(file);
    const readOne = reader.prepare('SELECT k FROM t LIMIT 1');
    const wal = openWalLength(file);
    try {
      for (const [appendedDuringPasses, expectedPasses] of [[[80, 12, 1], 3], [[80, 80, 80, 80, 80], 4]] as const) {
        // Frames not yet copied, as in a running WAL (a fully copied one would restart under the first pass).
        commitGroups(20);
        let passes = 0;
        let lastCopied = 0;
        const pass = (): number => {
          // The writer commits while the pass runs, so the WAL never restarts under it: here a reader's snapshot from
          // before the pass holds the restart off while the writer commits right after the pass.
          reader.exec('BEGIN');
          readOne.get();
          const [r] = checkpointer.pragma('wal_checkpoint(PASSIVE)') as { checkpointed: number }[];
          commitGroups(appendedDuringPasses[passes] ?? 0);
          reader.exec('COMMIT');
          passes += 1;
          lastCopied = r.checkpointed;
          return r.checkpointed;
        };
        const left = copyUntilRemainder(pass, wal.walLength, { remainderFrames: 100, maxPasses: 4 });
        assert.equal(passes, expectedPasses, 'a pass per round of appended frames, at most maxPasses');
        const before = checkpointer.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
        assert.ok(left > 0, 'frames appended during the last pass are left for the writer');
        assert.equal(left, wal.walLength() - lastCopied, 'the remainder is what the last pass did not copy');
        assert.equal(before[0].checkpointed, before[0].log, 'a pass now copies them');
      }
    } finally {
      wal.close();
      reader.close();
      checkpointer.close();
      writer.close();
    }
  });

  it('GRIDMESH_WAL_CHECKPOINTER=0 leaves checkpoints to SQLite (no thread), with the same rows', async () => {
    await withEnv({ GRIDMESH_MARKET_WRITER_THREAD: '1', GRIDMESH_WAL_CHECKPOINTER: '0' }, async () => {
      const { stats, restarts, rows, committed, integrity } = await run(300, 0);
      assert.equal(stats, null);
      assert.equal(restarts, 0, 'only SQLite\'s own checkpoint restarts the WAL');
      assert.equal(rows, committed);
      assert.equal(integrity, 'ok');
    });
  });

  it('while the writer\'s checkpointer runs, the main connection\'s own checkpoint (on the event loop) only stands by', async () => {
    for (const [off, expected] of [['1', 36_000], ['0', 1_000]] as const) {
      await withEnv({ GRIDMESH_MARKET_WRITER_THREAD: '1', GRIDMESH_WAL_CHECKPOINTER: off === '1' ? '' : '0' }, async () => {
        const db = new Database(join(dir, `main-${off}.db`));
        db.pragma('journal_mode = WAL');
        const repo = sqliteMarketRepo(db);
        assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1_000, 'SQLite\'s default before the writer starts');
        await repo.commitMany!([submission(Wallet.createRandom().address.toLowerCase() as Address, 1, 1)]);
        assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), expected);
        db.close();
      });
    }
  });

  it('a checkpointer thread that dies hands checkpoints back to SQLite at the writer\'s usual size', async () => {
    const db = new Database(join(dir, 'writer.db'));
    db.pragma('journal_mode = WAL');
    // The thread cannot open its file (no such directory), so it dies at once.
    const coordinator = new WalCheckpointCoordinator(db, join(dir, 'missing', 'store.db'));
    try {
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 36_000, 'a backstop far out while the thread runs');
      const deadline = Date.now() + 30_000;
      while (coordinator.stats() !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(coordinator.stats(), null);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), WRITER_AUTOCHECKPOINT_FRAMES);
      coordinator.afterGroup(); // nothing asked: no checkpoint, no error
    } finally {
      await coordinator.stop();
      db.close();
    }
  });

  it('refuses a bad GRIDMESH_WAL_CHECKPOINT_FRAMES when the store opens, naming it', async () => {
    assert.equal(walCheckpointerSettings({ GRIDMESH_WAL_CHECKPOINT_FRAMES: '5000' })?.startFrames, 5000);
    assert.equal(walCheckpointerSettings({ GRIDMESH_WAL_CHECKPOINTER: '0', GRIDMESH_WAL_CHECKPOINT_FRAMES: '5000' }), null);
    for (const bad of ['0', '-1', '1.5', 'many']) {
      await withEnv({ GRIDMESH_MARKET_WRITER_THREAD: '1', GRIDMESH_WAL_CHECKPOINT_FRAMES: bad }, async () => {
        assert.throws(() => openSqliteStore(join(dir, `bad-${bad}.db`)), /GRIDMESH_WAL_CHECKPOINT_FRAMES must be a positive integer/);
      });
    }
  });
});
