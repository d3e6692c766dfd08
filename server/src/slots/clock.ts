// Clock adapter: the server asks it for the time and for timers, so tests (and the crash test) can drive time by hand.
export interface Timer { cancel(): void }

export interface Clock {
  now(): number;
  /** Call `fn` once after `ms` of this clock's time. */
  setTimer(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that moves only when told to; timers fire in time order as it advances. */
export class ManualClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 0;

  constructor(private time: number) {}

  now(): number { return this.time; }

  setTimer(ms: number, fn: () => void): Timer {
    const entry = { at: this.time + Math.max(0, ms), fn, id: this.nextId++ };
    this.timers.push(entry);
    return { cancel: () => { this.timers = this.timers.filter((t) => t !== entry); } };
  }

  /** Move to `time` (never backwards), firing due timers in order. */
  set(time: number): void {
    if (time < this.time) throw new Error(`ManualClock cannot go back from ${this.time} to ${time}`);
    for (;;) {
      const due = this.timers.filter((t) => t.at <= time).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = time;
  }

  advance(ms: number): void { this.set(this.time + ms); }
}
