/**
 * The partition store's tables composed: the schema, and read and write transactions over one
 * SQLite connection. A read transaction is a separate object without write methods, so a reader
 * cannot become a writer by a cast.
 */
import type Database from "better-sqlite3";
import { FSM_DDL, fsmRead, fsmWrite, type FsmRead, type FsmWrite } from "./tables/fsm.ts";
import { IDEMPOTENCY_DDL, idempotencyRead, idempotencyWrite, type IdempotencyRead, type IdempotencyWrite } from "./tables/idempotency.ts";
import { INBOX_DDL, inboxRead, inboxWrite, type InboxRead, type InboxWrite } from "./tables/inbox.ts";
import type { InvocationStatusCache } from "./tables/invocation-status-cache.ts";
import {
  INVOCATION_STATUS_DDL,
  invocationStatusRead,
  migrateInvocationStatus,
  invocationStatusWrite,
  type InvocationStatusRead,
  type InvocationStatusWrite,
} from "./tables/invocation-status.ts";
import { JOURNAL_DDL, journalRead, journalWrite, type JournalRead, type JournalWrite } from "./tables/journal.ts";
import { KEY_LOCK_DDL, keyLockRead, keyLockWrite, type KeyLockRead, type KeyLockWrite } from "./tables/key-lock.ts";
import { OUTBOX_DDL, outboxRead, outboxWrite, type OutboxRead, type OutboxWrite } from "./tables/outbox.ts";
import { PROMISE_DDL, promiseRead, promiseWrite, type PromiseRead, type PromiseWrite } from "./tables/promise.ts";
import { STATE_DDL, stateRead, stateWrite, type StateRead, type StateWrite } from "./tables/state.ts";
import { TIMER_DDL, timerRead, timerWrite, type TimerRead, type TimerWrite } from "./tables/timer.ts";
import { tableRowsRead, type TableRowsRead } from "./tables/table-rows.ts";

export const PARTITION_STORE_SCHEMA = [
  FSM_DDL,
  INVOCATION_STATUS_DDL,
  JOURNAL_DDL,
  STATE_DDL,
  KEY_LOCK_DDL,
  INBOX_DDL,
  TIMER_DDL,
  OUTBOX_DDL,
  IDEMPOTENCY_DDL,
  PROMISE_DDL,
].join("\n");

/** Runs after the schema: upgrades tables of a store written by an older version, then adds their indexes. */
export function migrateStore(db: Database.Database): void {
  migrateInvocationStatus(db);
}

/** Read side: everything a reader may ask, all answered from one consistent snapshot. */
export interface ReadTxn
  extends FsmRead,
    InvocationStatusRead,
    JournalRead,
    StateRead,
    KeyLockRead,
    InboxRead,
    TimerRead,
    OutboxRead,
    IdempotencyRead,
    PromiseRead,
    TableRowsRead {}

/** Write side, only ever used by the partition processor's apply path. */
export interface WriteTxn
  extends ReadTxn,
    FsmWrite,
    InvocationStatusWrite,
    JournalWrite,
    StateWrite,
    KeyLockWrite,
    InboxWrite,
    TimerWrite,
    OutboxWrite,
    IdempotencyWrite,
    PromiseWrite {}

/**
 * Prepares every table's read statements on `db`, once; the object is reused for every read on
 * that connection and answers from whatever transaction the connection has open. `statuses`: the
 * writing connection's cache, shared with its write side.
 */
export function prepareReadTxn(db: Database.Database, statuses?: InvocationStatusCache): ReadTxn {
  return Object.freeze({
    ...fsmRead(db),
    ...invocationStatusRead(db, statuses),
    ...journalRead(db),
    ...stateRead(db),
    ...keyLockRead(db),
    ...inboxRead(db),
    ...timerRead(db),
    ...outboxRead(db),
    ...idempotencyRead(db),
    ...promiseRead(db),
    ...tableRowsRead(db),
  });
}

/** Prepares every table's write statements on `db`, once, next to the reads of `read` (same connection). */
export function prepareWriteTxn(db: Database.Database, read: ReadTxn, statuses?: InvocationStatusCache): WriteTxn {
  return Object.freeze({
    ...read,
    ...fsmWrite(db, read),
    ...invocationStatusWrite(db, statuses),
    ...journalWrite(db),
    ...stateWrite(db),
    ...keyLockWrite(db),
    ...inboxWrite(db),
    ...timerWrite(db),
    ...outboxWrite(db),
    ...idempotencyWrite(db),
    ...promiseWrite(db),
  });
}
