import type { TimerEntry } from "../storage/partition-store.ts";

/** Timers further out than this stay only in the store; a periodic scan brings them in. */
const HORIZON_MS = 60_000;

/**
 * The leader's in-memory view of due-soon timers. Firing only proposes a record; the timer is
 * deleted when that record is applied, so a timer fired twice (e.g. across a failover) is harmless.
 */
export class TimerQueue {
  private readonly due = new Map<string, TimerEntry>();
  private handle: NodeJS.Timeout | null = null;
  /** When the armed timeout is due; adding a later timer leaves it as it is. */
  private armedFor = Infinity;
  private scan: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly fire: (timer: TimerEntry) => void,
    private readonly loadDueBefore: (horizon: number) => TimerEntry[],
  ) {}

  start(): void {
    this.running = true;
    this.reload();
    this.scan = setInterval(() => this.reload(), HORIZON_MS / 2);
    this.scan.unref();
  }

  stop(): void {
    this.running = false;
    this.due.clear();
    if (this.handle) clearTimeout(this.handle);
    if (this.scan) clearInterval(this.scan);
    this.handle = this.scan = null;
    this.armedFor = Infinity;
  }

  add(timer: TimerEntry): void {
    if (!this.running || timer.fireAt > Date.now() + HORIZON_MS) return;
    this.due.set(timer.key, timer);
    // One comparison, not a scan of every due timer: completions can add thousands at once.
    if (timer.fireAt < this.armedFor) this.armAt(timer.fireAt);
  }

  private reload(): void {
    for (const t of this.loadDueBefore(Date.now() + HORIZON_MS)) this.due.set(t.key, t);
    this.arm();
  }

  private arm(): void {
    let next = Infinity;
    for (const t of this.due.values()) next = Math.min(next, t.fireAt);
    this.armAt(next);
  }

  private armAt(fireAt: number): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
    this.armedFor = fireAt;
    if (fireAt === Infinity) return;
    this.handle = setTimeout(() => this.tick(), Math.max(0, Math.min(fireAt - Date.now(), HORIZON_MS)));
  }

  private tick(): void {
    const now = Date.now();
    for (const [key, t] of this.due) {
      if (t.fireAt <= now) {
        this.due.delete(key);
        this.fire(t);
      }
    }
    this.arm();
  }
}
