// Group commit of reading batches: every batch that is ready in the same event-loop turn goes into one store transaction.
import type { Store, StoredReading } from '../store/index.ts';

type Counts = { inserted: number; existing: number };

interface Pending {
  rows: StoredReading[];
  resolve: (c: Counts) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects commit requests and flushes them on setImmediate, i.e. after the current I/O phase has handed over every
 * batch that arrived together. Each caller's promise resolves only after the shared transaction committed, so the ack
 * rule (commit before ack) holds; if the transaction fails every caller gets the error (nothing was committed).
 */
export class CommitGroup {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly store: Store, private readonly maxRows = 5000) {}

  commit(rows: StoredReading[]): Promise<Counts> {
    if (!this.store.readings.insertGroups) return this.store.readings.insertMany(rows);
    return new Promise<Counts>((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.pending.length) {
      // Bound one transaction's size so one flush never stalls the loop for long.
      let rows = 0;
      let n = 0;
      while (n < this.pending.length && (n === 0 || rows + this.pending[n].rows.length <= this.maxRows)) rows += this.pending[n++].rows.length;
      const group = this.pending.splice(0, n);
      try {
        const counts = await this.store.readings.insertGroups!(group.map((p) => p.rows));
        group.forEach((p, i) => p.resolve(counts[i]));
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
  }
}
