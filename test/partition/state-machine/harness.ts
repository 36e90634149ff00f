// A partition's state machine on a real in-memory store, fed records the way the processor feeds
// them: one write transaction per record, effects collected, rows read back through `store.read`.
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { pino } from "pino";
import { StateMachine, type Effect } from "../../../src/partition/state-machine/index.ts";
import { decodeOutboxMessage, type CalleeAssignment, type Command, type InvokeRequest, type OutboxMessage } from "../../../src/partition/records.ts";
import { messageTypeOf } from "../../../src/protocol/message-type.ts";
import { PartitionStore, type ReadTxn } from "../../../src/storage/partition-store.ts";
import { LeaderEpoch, Lsn, PartitionKey, newInvocationId, type InvocationId } from "../../../src/types/ids.ts";
import type { InvocationStatus, InvocationTarget, JournalEntry } from "../../../src/types/invocation.ts";

export const T0 = 1_700_000_000_000;

export class TestPartition {
  readonly store = new PartitionStore(":memory:");
  private readonly sm = new StateMachine(pino({ level: "silent" }));
  private lsn = 0;
  /** Header time of the next record. */
  ts = T0;

  /** Applies one record (stamped with `ts` and, for leader records, `epoch`) and returns its effects. */
  apply(command: Command, epoch?: number): Effect[] {
    const effects: Effect[] = [];
    const header = epoch === undefined ? { ts: this.ts } : { ts: this.ts, epoch: LeaderEpoch(epoch) };
    this.store.write((tx) => this.sm.apply(tx, Lsn(++this.lsn), { header, command }, effects));
    return plain(effects);
  }

  invoke(request: InvokeRequest): Effect[] {
    return this.apply({ t: "invoke", request });
  }

  /** Applies an SDK command as the invoker proposes it: its frame type, at the invocation's next command index. */
  command<D extends DescMessage>(id: InvocationId, schema: D, init: MessageInitShape<D>, callee?: CalleeAssignment): Effect[] {
    return this.apply({
      t: "journal-command",
      id,
      commandIndex: this.status(id).commandCount,
      msgType: messageTypeOf(schema),
      payload: toBinary(schema, create(schema, init)),
      ...(callee ? { callee } : {}),
    });
  }

  read<T>(fn: (tx: ReadTxn) => T): T {
    return plain(this.store.read(fn));
  }

  status(id: InvocationId): InvocationStatus {
    const s = this.store.read((tx) => tx.getInvocation(id));
    if (!s) throw new Error(`no invocation ${id}`);
    return plain(s);
  }

  maybeStatus(id: InvocationId): InvocationStatus | null {
    return plain(this.store.read((tx) => tx.getInvocation(id)));
  }

  journal(id: InvocationId): JournalEntry[] {
    return plain(this.store.read((tx) => tx.getJournal(id)));
  }

  outbox(): OutboxMessage[] {
    return this.store.read((tx) => tx.listOutbox()).map((e) => plain(decodeOutboxMessage(e.message, e.seq)));
  }

  close(): void {
    this.store.close();
  }
}

/**
 * Bytes read back from the store are Buffers, bytes from protobuf are Uint8Arrays: both become
 * plain Uint8Arrays so assertions compare contents, not containers.
 */
function plain<T>(v: T): T {
  if (v instanceof Uint8Array) return (Buffer.isBuffer(v) ? new Uint8Array(v) : v) as T;
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, plain(x)])) as T;
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
  return v;
}

let idSeq = 0;

/** A fresh, deterministic invocation id. */
export function nextId(): InvocationId {
  const random = new Uint8Array(16);
  new DataView(random.buffer).setUint32(12, ++idSeq);
  return newInvocationId(PartitionKey(7n), random);
}

export const service = (handler = "greet"): InvocationTarget => ({ service: "Greeter", handler, serviceType: "SERVICE", handlerType: "EXCLUSIVE" });

export const object = (key: string, handler = "add", handlerType: "EXCLUSIVE" | "SHARED" = "EXCLUSIVE"): InvocationTarget => ({
  service: "Counter",
  handler,
  key,
  serviceType: "VIRTUAL_OBJECT",
  handlerType,
});

export const workflow = (key: string, handler = "run", handlerType: "WORKFLOW" | "SHARED" = "WORKFLOW"): InvocationTarget => ({
  service: "Signup",
  handler,
  key,
  serviceType: "WORKFLOW",
  handlerType,
});

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export function request(target: InvocationTarget, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return { id: nextId(), target, argument: bytes('"Ada"'), headers: [], randomSeed: "42", responseSink: { kind: "ingress", nodeId: 1 }, ...extra };
}

export function effectsOf<K extends Effect["t"]>(effects: readonly Effect[], t: K): Extract<Effect, { t: K }>[] {
  return effects.filter((e): e is Extract<Effect, { t: K }> => e.t === t);
}

/** The notification a live attempt was sent, decoded with the schema the test expects it to have. */
export function notified<D extends DescMessage>(effects: readonly Effect[], schema: D): MessageShape<D>[] {
  return effectsOf(effects, "notification")
    .filter((e) => e.entry.type === messageTypeOf(schema))
    .map((e) => fromBinary(schema, e.entry.payload));
}

export function decodeEntry<D extends DescMessage>(entry: JournalEntry, schema: D): MessageShape<D> {
  if (entry.type !== messageTypeOf(schema)) throw new Error(`entry ${entry.index} has type ${entry.type}, not ${schema.typeName}`);
  return fromBinary(schema, entry.payload);
}
