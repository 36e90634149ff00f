import Database from "better-sqlite3";
import { Packr } from "msgpackr";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { CorruptionError } from "../types/errors.ts";
import { Lsn, LeaderEpoch, type InvocationId } from "../types/ids.ts";
import type { InvocationStatus, InvocationStatusKind, JournalEntry } from "../types/invocation.ts";

/** Values are msgpack; a separate instance so its options never depend on another module's. */
const packr = new Packr({ useRecords: false, moreTypes: false });
const pack = (v: unknown): Buffer => packr.pack(v);
const unpack = <T>(b: Buffer): T => packr.unpack(b) as T;

export type TimerKind = "sleep" | "delayed-invoke" | "cleanup";

export interface TimerEntry {
  /** Unique, deterministic key: derived from the invocation id and what the timer is for. */
  readonly key: string;
  readonly fireAt: number;
  readonly kind: TimerKind;
  readonly invocationId: InvocationId;
  readonly completionId?: number;
}

export interface OutboxEntry {
  readonly seq: number;
  readonly message: Uint8Array;
}

export interface InboxEntry {
  readonly seq: number;
  readonly invocationId: InvocationId;
}

export interface PromiseEntry {
  readonly state: "pending" | "resolved" | "rejected";
  readonly value?: Uint8Array;
  readonly failure?: { readonly code: number; readonly message: string };
  /** Invocations waiting on the promise: (invocation id, completion id). */
  readonly waiters: readonly { readonly invocationId: InvocationId; readonly completionId: number }[];
}

export interface IdempotencyEntry {
  readonly invocationId: InvocationId;
}

/** Read side: everything a reader may ask, all answered from one consistent snapshot. */
export interface ReadTxn {
  appliedLsn(): Lsn;
  leaderEpoch(): LeaderEpoch;
  counter(name: string): number;
  getInvocation(id: InvocationId): InvocationStatus | null;
  listInvocations(status?: InvocationStatusKind): InvocationStatus[];
  getJournal(id: InvocationId, from?: number): JournalEntry[];
  getState(service: string, key: string): Map<string, Uint8Array>;
  getStateValue(service: string, key: string, stateKey: string): Uint8Array | null;
  getStateKeys(service: string, key: string): string[];
  getKeyLock(service: string, key: string): InvocationId | null;
  peekInbox(service: string, key: string): InboxEntry | null;
  listInbox(): (InboxEntry & { service: string; key: string })[];
  listTimers(): TimerEntry[];
  listTimersDueBefore(fireAt: number): TimerEntry[];
  getTimer(key: string): TimerEntry | null;
  listOutbox(): OutboxEntry[];
  getIdempotency(scope: string): IdempotencyEntry | null;
  getPromise(service: string, key: string, name: string): PromiseEntry | null;
  // Whole-table listings, for SQL introspection.
  listState(): { service: string; key: string; stateKey: string; value: Uint8Array }[];
  listKeyLocks(): { service: string; key: string; invocationId: InvocationId }[];
  listPromises(): { service: string; key: string; name: string; entry: PromiseEntry }[];
}

/** Write side, only ever used by the partition processor's apply path. */
export interface WriteTxn extends ReadTxn {
  setAppliedLsn(lsn: Lsn): void;
  setLeaderEpoch(epoch: LeaderEpoch): void;
  /** Returns the counter's value and increments it. */
  nextCounter(name: string): number;
  putInvocation(status: InvocationStatus): void;
  deleteInvocation(id: InvocationId): void;
  appendJournal(id: InvocationId, entry: JournalEntry): void;
  deleteJournal(id: InvocationId): void;
  setStateValue(service: string, key: string, stateKey: string, value: Uint8Array): void;
  clearStateValue(service: string, key: string, stateKey: string): void;
  clearAllState(service: string, key: string): void;
  setKeyLock(service: string, key: string, id: InvocationId | null): void;
  pushInbox(service: string, key: string, id: InvocationId, seq: number): void;
  popInbox(service: string, key: string, seq: number): void;
  putTimer(timer: TimerEntry): void;
  deleteTimer(key: string): void;
  putOutbox(entry: OutboxEntry): void;
  deleteOutbox(seq: number): void;
  putIdempotency(scope: string, entry: IdempotencyEntry): void;
  deleteIdempotency(scope: string): void;
  putPromise(service: string, key: string, name: string, entry: PromiseEntry): void;
  clearPromises(service: string, key: string): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS fsm (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS invocation_status (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, service TEXT NOT NULL, obj_key TEXT, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS invocation_status_by_status ON invocation_status(status);
CREATE TABLE IF NOT EXISTS journal (
  invocation_id TEXT NOT NULL, idx INTEGER NOT NULL, type INTEGER NOT NULL, appended_at INTEGER NOT NULL,
  name TEXT, payload BLOB NOT NULL, PRIMARY KEY (invocation_id, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, state_key TEXT NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (service, obj_key, state_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_lock (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, invocation_id TEXT NOT NULL, PRIMARY KEY (service, obj_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, seq INTEGER NOT NULL, invocation_id TEXT NOT NULL,
  PRIMARY KEY (service, obj_key, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
  timer_key TEXT PRIMARY KEY, fire_at INTEGER NOT NULL, body BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_by_time ON timers(fire_at);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, message BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (scope TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS promise (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL,
  PRIMARY KEY (service, obj_key, name)) WITHOUT ROWID;
`;

type Row = Record<string, unknown>;

/**
 * The partition store: a materialised view of one partition's log up to `appliedLsn`, in SQLite.
 * Durability comes from the log, so the store uses synchronous=NORMAL; `appliedLsn` is written in
 * the same transaction as the changes it covers, so after a crash the processor resumes from it.
 */
export class PartitionStore {
  private readonly db: Database.Database;
  private readonly stmts: Record<string, Database.Statement>;
  private readonly txn: ReadTxn & WriteTxn;
  // Built once: better-sqlite3 compiles BEGIN/COMMIT statements per wrapper.
  private readonly runWrite: (fn: (tx: WriteTxn) => unknown) => unknown;
  private readonly runRead: { deferred: (fn: (tx: ReadTxn) => unknown) => unknown };

  constructor(readonly path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    const s = (sql: string) => this.db.prepare(sql);
    this.stmts = {
      fsmGet: s("SELECT value FROM fsm WHERE name = ?"),
      fsmPut: s("INSERT INTO fsm(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"),
      invGet: s("SELECT body FROM invocation_status WHERE id = ?"),
      invList: s("SELECT body FROM invocation_status ORDER BY id"),
      invListByStatus: s("SELECT body FROM invocation_status WHERE status = ? ORDER BY id"),
      invPut: s(
        "INSERT INTO invocation_status(id, status, service, obj_key, body) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
      ),
      invDel: s("DELETE FROM invocation_status WHERE id = ?"),
      jGet: s("SELECT idx, type, appended_at, name, payload FROM journal WHERE invocation_id = ? AND idx >= ? ORDER BY idx"),
      jPut: s("INSERT INTO journal(invocation_id, idx, type, appended_at, name, payload) VALUES (?, ?, ?, ?, ?, ?)"),
      jDel: s("DELETE FROM journal WHERE invocation_id = ?"),
      stGetAll: s("SELECT state_key, value FROM state WHERE service = ? AND obj_key = ? ORDER BY state_key"),
      stList: s("SELECT service, obj_key, state_key, value FROM state ORDER BY service, obj_key, state_key"),
      stGet: s("SELECT value FROM state WHERE service = ? AND obj_key = ? AND state_key = ?"),
      stPut: s(
        "INSERT INTO state(service, obj_key, state_key, value) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT(service, obj_key, state_key) DO UPDATE SET value = excluded.value",
      ),
      stDel: s("DELETE FROM state WHERE service = ? AND obj_key = ? AND state_key = ?"),
      stDelAll: s("DELETE FROM state WHERE service = ? AND obj_key = ?"),
      lockGet: s("SELECT invocation_id FROM key_lock WHERE service = ? AND obj_key = ?"),
      lockList: s("SELECT service, obj_key, invocation_id FROM key_lock ORDER BY service, obj_key"),
      lockPut: s(
        "INSERT INTO key_lock(service, obj_key, invocation_id) VALUES (?, ?, ?) " +
          "ON CONFLICT(service, obj_key) DO UPDATE SET invocation_id = excluded.invocation_id",
      ),
      lockDel: s("DELETE FROM key_lock WHERE service = ? AND obj_key = ?"),
      inboxPeek: s("SELECT seq, invocation_id FROM inbox WHERE service = ? AND obj_key = ? ORDER BY seq LIMIT 1"),
      inboxList: s("SELECT service, obj_key, seq, invocation_id FROM inbox ORDER BY service, obj_key, seq"),
      inboxPut: s("INSERT INTO inbox(service, obj_key, seq, invocation_id) VALUES (?, ?, ?, ?)"),
      inboxDel: s("DELETE FROM inbox WHERE service = ? AND obj_key = ? AND seq = ?"),
      timerList: s("SELECT body FROM timers ORDER BY fire_at, timer_key"),
      timerDue: s("SELECT body FROM timers WHERE fire_at <= ? ORDER BY fire_at, timer_key"),
      timerGet: s("SELECT body FROM timers WHERE timer_key = ?"),
      timerPut: s("INSERT OR REPLACE INTO timers(timer_key, fire_at, body) VALUES (?, ?, ?)"),
      timerDel: s("DELETE FROM timers WHERE timer_key = ?"),
      outboxList: s("SELECT seq, message FROM outbox ORDER BY seq"),
      outboxPut: s("INSERT INTO outbox(seq, message) VALUES (?, ?)"),
      outboxDel: s("DELETE FROM outbox WHERE seq = ?"),
      idemGet: s("SELECT body FROM idempotency WHERE scope = ?"),
      idemPut: s("INSERT OR REPLACE INTO idempotency(scope, body) VALUES (?, ?)"),
      idemDel: s("DELETE FROM idempotency WHERE scope = ?"),
      promGet: s("SELECT body FROM promise WHERE service = ? AND obj_key = ? AND name = ?"),
      promList: s("SELECT service, obj_key, name, body FROM promise ORDER BY service, obj_key, name"),
      promClear: s("DELETE FROM promise WHERE service = ? AND obj_key = ?"),
      promPut: s("INSERT OR REPLACE INTO promise(service, obj_key, name, body) VALUES (?, ?, ?, ?)"),
    };
    this.txn = this.buildTxn();
    this.runWrite = this.db.transaction((fn: (tx: WriteTxn) => unknown) => fn(this.txn));
    this.runRead = this.db.transaction((fn: (tx: ReadTxn) => unknown) => fn(this.txn));
  }

  /** Runs `fn` inside one write transaction; all changes and the applied LSN commit together. */
  write<T>(fn: (tx: WriteTxn) => T): T {
    return this.runWrite(fn as (tx: WriteTxn) => unknown) as T;
  }

  /**
   * Runs `fn` against one consistent snapshot. `fn` is synchronous, so no apply can interleave,
   * and SQLite's read transaction keeps the view stable for the whole call.
   */
  read<T>(fn: (tx: ReadTxn) => T): T {
    if (this.db.inTransaction) return fn(this.txn);
    return this.runRead.deferred(fn as (tx: ReadTxn) => unknown) as T;
  }

  /** Raw database handle for introspection (SQL queries) — read-only use. */
  get database(): Database.Database {
    return this.db;
  }

  close(): void {
    this.db.close();
  }

  private buildTxn(): ReadTxn & WriteTxn {
    const st = this.stmts;
    const fsmGet = (name: string): number => ((st.fsmGet.get(name) as Row | undefined)?.value as number) ?? 0;
    const decode = <T>(row: Row | undefined, what: string): T | null => {
      if (!row) return null;
      try {
        return unpack<T>(row.body as Buffer);
      } catch (e) {
        throw new CorruptionError(`cannot decode ${what} in ${this.path}: ${(e as Error).message}`);
      }
    };
    return {
      appliedLsn: () => Lsn(fsmGet("applied_lsn")),
      leaderEpoch: () => LeaderEpoch(fsmGet("leader_epoch")),
      counter: (name) => fsmGet(`counter:${name}`),
      getInvocation: (id) => decode<InvocationStatus>(st.invGet.get(id) as Row | undefined, `invocation ${id}`),
      listInvocations: (status) =>
        ((status ? st.invListByStatus.all(status) : st.invList.all()) as Row[]).map(
          (r) => decode<InvocationStatus>(r, "invocation")!,
        ),
      getJournal: (id, from = 0) =>
        (st.jGet.all(id, from) as Row[]).map((r) => ({
          index: r.idx as number,
          type: r.type as number,
          appendedAt: r.appended_at as number,
          payload: r.payload as Buffer,
          ...(r.name ? { name: r.name as string } : {}),
        })),
      getState: (service, key) =>
        new Map((st.stGetAll.all(service, key) as Row[]).map((r) => [r.state_key as string, r.value as Buffer])),
      getStateValue: (service, key, stateKey) =>
        ((st.stGet.get(service, key, stateKey) as Row | undefined)?.value as Buffer | undefined) ?? null,
      getStateKeys: (service, key) => (st.stGetAll.all(service, key) as Row[]).map((r) => r.state_key as string),
      getKeyLock: (service, key) =>
        ((st.lockGet.get(service, key) as Row | undefined)?.invocation_id as InvocationId | undefined) ?? null,
      peekInbox: (service, key) => {
        const r = st.inboxPeek.get(service, key) as Row | undefined;
        return r ? { seq: r.seq as number, invocationId: r.invocation_id as InvocationId } : null;
      },
      listInbox: () =>
        (st.inboxList.all() as Row[]).map((r) => ({
          service: r.service as string,
          key: r.obj_key as string,
          seq: r.seq as number,
          invocationId: r.invocation_id as InvocationId,
        })),
      listTimers: () => (st.timerList.all() as Row[]).map((r) => decode<TimerEntry>(r, "timer")!),
      listTimersDueBefore: (fireAt) => (st.timerDue.all(fireAt) as Row[]).map((r) => decode<TimerEntry>(r, "timer")!),
      getTimer: (key) => decode<TimerEntry>(st.timerGet.get(key) as Row | undefined, `timer ${key}`),
      listOutbox: () =>
        (st.outboxList.all() as Row[]).map((r) => ({ seq: r.seq as number, message: r.message as Buffer })),
      getIdempotency: (scope) => decode<IdempotencyEntry>(st.idemGet.get(scope) as Row | undefined, "idempotency"),
      getPromise: (service, key, name) =>
        decode<PromiseEntry>(st.promGet.get(service, key, name) as Row | undefined, "promise"),
      listState: () =>
        (st.stList.all() as Row[]).map((r) => ({
          service: r.service as string,
          key: r.obj_key as string,
          stateKey: r.state_key as string,
          value: r.value as Buffer,
        })),
      listKeyLocks: () =>
        (st.lockList.all() as Row[]).map((r) => ({
          service: r.service as string,
          key: r.obj_key as string,
          invocationId: r.invocation_id as InvocationId,
        })),
      listPromises: () =>
        (st.promList.all() as Row[]).map((r) => ({
          service: r.service as string,
          key: r.obj_key as string,
          name: r.name as string,
          entry: decode<PromiseEntry>(r, "promise")!,
        })),

      setAppliedLsn: (lsn) => void st.fsmPut.run("applied_lsn", lsn),
      setLeaderEpoch: (epoch) => void st.fsmPut.run("leader_epoch", epoch),
      nextCounter: (name) => {
        const v = fsmGet(`counter:${name}`);
        st.fsmPut.run(`counter:${name}`, v + 1);
        return v;
      },
      putInvocation: (s) =>
        void st.invPut.run(s.id, s.status, s.target.service, s.target.key ?? null, pack(s)),
      deleteInvocation: (id) => void st.invDel.run(id),
      appendJournal: (id, e) =>
        void st.jPut.run(id, e.index, e.type, e.appendedAt, e.name ?? null, Buffer.from(e.payload)),
      deleteJournal: (id) => void st.jDel.run(id),
      setStateValue: (service, key, stateKey, value) => void st.stPut.run(service, key, stateKey, Buffer.from(value)),
      clearStateValue: (service, key, stateKey) => void st.stDel.run(service, key, stateKey),
      clearAllState: (service, key) => void st.stDelAll.run(service, key),
      setKeyLock: (service, key, id) =>
        void (id === null ? st.lockDel.run(service, key) : st.lockPut.run(service, key, id)),
      pushInbox: (service, key, id, seq) => void st.inboxPut.run(service, key, seq, id),
      popInbox: (service, key, seq) => void st.inboxDel.run(service, key, seq),
      putTimer: (t) => void st.timerPut.run(t.key, t.fireAt, pack(t)),
      deleteTimer: (key) => void st.timerDel.run(key),
      putOutbox: (e) => void st.outboxPut.run(e.seq, Buffer.from(e.message)),
      deleteOutbox: (seq) => void st.outboxDel.run(seq),
      putIdempotency: (scope, e) => void st.idemPut.run(scope, pack(e)),
      deleteIdempotency: (scope) => void st.idemDel.run(scope),
      putPromise: (service, key, name, e) => void st.promPut.run(service, key, name, pack(e)),
      clearPromises: (service, key) => void st.promClear.run(service, key),
    };
  }
}
