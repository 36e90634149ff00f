import type { InvocationId } from "../../types/ids.ts";
import type { InvocationStatus } from "../../types/invocation.ts";
import { NOT_MODELLED } from "./codec.ts";

/** Statuses kept decoded after their transaction committed; beyond this many the oldest goes. */
const COMMITTED_ENTRIES = 4096;

/** A status as stored: its body, and the body decoded once someone asked. */
interface Stored {
  body: Buffer | null;
  decoded: InvocationStatus | null;
}

/** Writes one invocation's row in SQLite. */
export interface StatusRowWriter {
  put(status: InvocationStatus, body: Buffer): void;
  delete(id: InvocationId): void;
}

/** This transaction's last write of an invocation: the status put (null: deleted) and its body once packed. */
interface Pending {
  readonly put: InvocationStatus | null;
  body: Buffer | null;
  decoded: InvocationStatus | null;
}

/**
 * The invocation statuses of the writing connection, between the state machine and SQLite. An
 * applied batch reads and rewrites the same invocation several times (about twice per batch in
 * the engine benchmark) and the next batch reads it again: a write waits in `pending` until the
 * transaction ends, so only its last version is encoded and written, and reads are answered from
 * here instead of a SELECT and a decode.
 *
 * What a reader gets is always a status decoded from its stored body, as a fresh read would be
 * (binary values as Buffers, -0 as 0, ...), never the object that was put: a replica that applies
 * two records in one batch must see what one that applies them in two batches sees. Decoded
 * statuses are frozen and shared, so a caller that tried to change one would throw instead of
 * changing what the next reader sees.
 */
export class InvocationStatusCache {
  private readonly committed = new Map<InvocationId, Stored>();
  private readonly pending = new Map<InvocationId, Pending>();
  private writer: StatusRowWriter | null = null;

  constructor(
    private readonly pack: (s: InvocationStatus) => Buffer,
    private readonly unpack: (body: Buffer, id: InvocationId) => InvocationStatus,
    /** What `unpack(pack(s))` gives, frozen, or NOT_MODELLED when only running them can tell. */
    private readonly roundTrip: (s: InvocationStatus) => unknown,
  ) {}

  /** The status as of this transaction: undefined if this cache cannot tell (read it from SQLite). */
  get(id: InvocationId): InvocationStatus | null | undefined {
    const p = this.pending.get(id);
    if (p !== undefined) {
      if (p.put === null) return null;
      if (p.decoded !== null) return p.decoded;
      // What a decode of its body would give, without packing a status that may be put again
      // before the transaction ends, or decoding it (a fifth of the apply loop's status cost).
      const copy = this.roundTrip(p.put);
      if (copy !== NOT_MODELLED) return (p.decoded = copy as InvocationStatus);
      p.body ??= this.pack(p.put);
      return (p.decoded = this.decode(p.body, id));
    }
    const c = this.committed.get(id);
    if (c === undefined) return undefined;
    return (c.decoded ??= this.decode(c.body!, id));
  }

  /** A status read from SQLite (committed, or flushed by this transaction). */
  remember(id: InvocationId, body: Buffer): InvocationStatus {
    const decoded = this.decode(body, id);
    this.keep(id, { body, decoded });
    return decoded;
  }

  put(status: InvocationStatus): void {
    this.pending.set(status.id, { put: status, body: null, decoded: null });
  }

  delete(id: InvocationId): void {
    this.pending.set(id, { put: null, body: null, decoded: null });
  }

  /** The write side's statements, which `flush` writes through. */
  bindWriter(writer: StatusRowWriter): void {
    this.writer = writer;
  }

  /**
   * Writes this transaction's changes to SQLite, each invocation's last one once: before the
   * transaction commits, and before a query that reads the table with SQL.
   */
  flush(): void {
    if (this.pending.size === 0) return;
    const writer = this.writer;
    if (writer === null) throw new Error("invocation status cache has writes but no writer");
    for (const [id, p] of this.pending) {
      if (p.put === null) {
        writer.delete(id);
        this.committed.delete(id);
      } else {
        p.body ??= this.pack(p.put);
        writer.put(p.put, p.body);
        this.keep(id, { body: p.body, decoded: p.decoded });
      }
    }
    this.pending.clear();
  }

  /**
   * The transaction rolled back: what it flushed, and what was read after it flushed, may be in
   * `committed` although SQLite dropped it; forget everything (a rollback halts the partition).
   */
  rolledBack(): void {
    this.pending.clear();
    this.committed.clear();
  }

  /** The table's content was replaced underneath (a snapshot installed). */
  clear(): void {
    this.rolledBack();
  }

  private keep(id: InvocationId, stored: Stored): void {
    this.committed.delete(id);
    if (this.committed.size >= COMMITTED_ENTRIES) this.committed.delete(this.committed.keys().next().value!);
    this.committed.set(id, stored);
  }

  private decode(body: Buffer, id: InvocationId): InvocationStatus {
    return deepFreeze(this.unpack(body, id));
  }
}

function deepFreeze<T>(value: T): T {
  // Typed arrays cannot be frozen while they have elements; their bytes are the caller's to respect.
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return value;
  // Decoded just now: plain objects and arrays, none frozen yet. Walked without Object.values'
  // array per object, which cost as much as the freezing.
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  else for (const k in value) deepFreeze(value[k]);
  return Object.freeze(value);
}
