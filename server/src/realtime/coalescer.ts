// Coalesces keyed updates and flushes them at most once per interval, so a busy room gets ≤ 1000/interval broadcasts per second.
export class Coalescer<K, V> {
  private pending = new Map<K, V>();
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = 0;

  constructor(private readonly intervalMs: number, private readonly flush: (updates: V[]) => void) {}

  push(key: K, value: V): void {
    this.pending.set(key, value);
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.drain(), wait);
  }

  private drain(): void {
    this.timer = null;
    if (this.pending.size === 0) return;
    const updates = [...this.pending.values()];
    this.pending = new Map();
    this.lastFlush = Date.now();
    this.flush(updates);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
