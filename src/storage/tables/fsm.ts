import type Database from "better-sqlite3";
import { LeaderEpoch, Lsn } from "../../types/ids.ts";

export const FSM_DDL = "CREATE TABLE IF NOT EXISTS fsm (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

/** The processor's own bookkeeping: how far the log is applied, the leader epoch, sequence counters. */
export interface FsmRead {
  appliedLsn(): Lsn;
  leaderEpoch(): LeaderEpoch;
  counter(name: string): number;
}

export interface FsmWrite {
  setAppliedLsn(lsn: Lsn): void;
  setLeaderEpoch(epoch: LeaderEpoch): void;
  /** Returns the counter's value and increments it. */
  nextCounter(name: string): number;
}

/** Names of the fsm rows that say how far a store is, for readers that cannot import this module (worker threads). */
export const FSM_APPLIED_LSN = "applied_lsn";
export const FSM_LEADER_EPOCH = "leader_epoch";
/** One fsm value by name; 0 when it was never written. */
export const FSM_VALUE_SQL = "SELECT coalesce((SELECT value FROM fsm WHERE name = ?), 0)";
const counterName = (name: string) => `counter:${name}`;

export function fsmRead(db: Database.Database): FsmRead {
  const get = db.prepare<[string], number>(FSM_VALUE_SQL).pluck();
  const value = (name: string): number => get.get(name)!;
  return {
    appliedLsn: () => Lsn(value(FSM_APPLIED_LSN)),
    leaderEpoch: () => LeaderEpoch(value(FSM_LEADER_EPOCH)),
    counter: (name) => value(counterName(name)),
  };
}

export function fsmWrite(db: Database.Database, read: FsmRead): FsmWrite {
  const put = db.prepare("INSERT INTO fsm(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
  return {
    setAppliedLsn: (lsn) => void put.run(FSM_APPLIED_LSN, lsn),
    setLeaderEpoch: (epoch) => void put.run(FSM_LEADER_EPOCH, epoch),
    nextCounter: (name) => {
      const v = read.counter(name);
      put.run(counterName(name), v + 1);
      return v;
    },
  };
}
