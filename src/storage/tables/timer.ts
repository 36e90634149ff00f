import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import { pack, unpackBody } from "./codec.ts";

export const TIMER_DDL = `
CREATE TABLE IF NOT EXISTS timers (
  timer_key TEXT PRIMARY KEY, fire_at INTEGER NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_by_time ON timers(fire_at);`;

/** `cleanup` ends a completed invocation's retention; `journal-cleanup` drops only its journal, earlier. */
export type TimerKind = "sleep" | "delayed-invoke" | "cleanup" | "journal-cleanup";

export interface TimerEntry {
  /** Unique, deterministic key: derived from the invocation id and what the timer is for. */
  readonly key: string;
  readonly fireAt: number;
  readonly kind: TimerKind;
  readonly invocationId: InvocationId;
  readonly completionId?: number;
}

/** Timers in firing order (time, then key, so every replica orders ties alike). */
export interface TimerRead {
  listTimers(): TimerEntry[];
  listTimersDueBefore(fireAt: number): TimerEntry[];
  getTimer(key: string): TimerEntry | null;
}

export interface TimerWrite {
  /** Replaces a timer with the same key. */
  putTimer(timer: TimerEntry): void;
  deleteTimer(key: string): void;
  /** Deletes every timer whose key starts with `prefix`, which must end in an ASCII character. */
  deleteTimersWithKeyPrefix(prefix: string): void;
}

export function timerRead(db: Database.Database): TimerRead {
  const list = db.prepare<[], Buffer>("SELECT body FROM timers ORDER BY fire_at, timer_key").pluck();
  const due = db.prepare<[number], Buffer>("SELECT body FROM timers WHERE fire_at <= ? ORDER BY fire_at, timer_key").pluck();
  const get = db.prepare<[string], Buffer>("SELECT body FROM timers WHERE timer_key = ?").pluck();
  const decode = (body: Buffer) => unpackBody<TimerEntry>(db, body, "timer");
  return {
    listTimers: () => list.all().map(decode),
    listTimersDueBefore: (fireAt) => due.all(fireAt).map(decode),
    getTimer: (key) => {
      const body = get.get(key);
      return body === undefined ? null : unpackBody<TimerEntry>(db, body, `timer ${key}`);
    },
  };
}

export function timerWrite(db: Database.Database): TimerWrite {
  const put = db.prepare("INSERT OR REPLACE INTO timers(timer_key, fire_at, body) VALUES (?, ?, ?)");
  const del = db.prepare("DELETE FROM timers WHERE timer_key = ?");
  // A range over the primary key (a seek, not a scan): keys compare as bytes, so those starting
  // with the prefix lie between it and the prefix with its last character raised by one.
  const delRange = db.prepare("DELETE FROM timers WHERE timer_key >= ? AND timer_key < ?");
  return {
    putTimer: (t) => void put.run(t.key, t.fireAt, pack(t)),
    deleteTimer: (key) => void del.run(key),
    deleteTimersWithKeyPrefix: (prefix) => void delRange.run(prefix, keyPrefixEnd(prefix)),
  };
}

function keyPrefixEnd(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  if (!(last < 0x7f)) throw new RangeError(`timer key prefix must end in an ASCII character: ${JSON.stringify(prefix)}`);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
