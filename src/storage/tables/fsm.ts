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

const APPLIED_LSN = "applied_lsn";
const LEADER_EPOCH = "leader_epoch";
const counterName = (name: string) => `counter:${name}`;

export function fsmRead(db: Database.Database): FsmRead {
  const get = db.prepare<[string], number>("SELECT value FROM fsm WHERE name = ?").pluck();
  const value = (name: string): number => get.get(name) ?? 0;
  return {
    appliedLsn: () => Lsn(value(APPLIED_LSN)),
    leaderEpoch: () => LeaderEpoch(value(LEADER_EPOCH)),
    counter: (name) => value(counterName(name)),
  };
}

export function fsmWrite(db: Database.Database, read: FsmRead): FsmWrite {
  const put = db.prepare("INSERT INTO fsm(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
  return {
    setAppliedLsn: (lsn) => void put.run(APPLIED_LSN, lsn),
    setLeaderEpoch: (epoch) => void put.run(LEADER_EPOCH, epoch),
    nextCounter: (name) => {
      const v = read.counter(name);
      put.run(counterName(name), v + 1);
      return v;
    },
  };
}
