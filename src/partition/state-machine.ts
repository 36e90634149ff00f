import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import * as pb from "../protocol/gen/dev/restate/service/protocol_pb.ts";
import { MessageType } from "../protocol/message-type.ts";
import type { WriteTxn, TimerEntry, OutboxEntry } from "../storage/partition-store.ts";
import type { InvocationId, LeaderEpoch, Lsn } from "../types/ids.ts";
import {
  needsKeyLock,
  type AwaitingOn,
  type InvocationResult,
  type InvocationStatus,
  type JournalEntry,
} from "./invocation.ts";
import { encodeOutboxMessage, type Command, type Envelope, type InvokeRequest, type OutboxMessage } from "./records.ts";

/** Completed invocations (and their journals) are kept this long unless the handler says otherwise. */
export const DEFAULT_COMPLETION_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * What the leader must do after a batch is applied. Followers compute and drop them, so effects
 * never influence the store: they only talk to the outside world.
 */
export type Effect =
  | { readonly t: "leader"; readonly epoch: LeaderEpoch; readonly nodeId: number }
  /** Start (or restart after suspension) an invocation attempt. */
  | { readonly t: "invoke"; readonly id: InvocationId }
  /** A notification was journaled; forward it to a live attempt. `runAck` marks a stored run result. */
  | { readonly t: "notification"; readonly id: InvocationId; readonly entry: JournalEntry; readonly runAck?: number }
  /** The invocation has a result: wake ingress waiters on this node. */
  | { readonly t: "result"; readonly id: InvocationId; readonly result: InvocationResult }
  | { readonly t: "timer"; readonly timer: TimerEntry }
  | { readonly t: "outbox"; readonly entry: OutboxEntry }
  /** Any live attempt for this invocation is obsolete (completed or killed). */
  | { readonly t: "abort"; readonly id: InvocationId };

const enc = <D extends DescMessage>(schema: D, init: Parameters<typeof create<D>>[1]): Uint8Array =>
  toBinary(schema, create(schema, init));
const dec = <D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> => fromBinary(schema, bytes);

function failureOf(f: { code: number; message: string } | undefined): InvocationResult {
  return { kind: "failure", code: f?.code ?? 500, message: f?.message ?? "" };
}

/**
 * The deterministic heart of a partition: `apply` is a pure function of (store, record). It never
 * reads the clock, randomness or the environment; time comes from the record header.
 */
export class StateMachine {
  constructor(private readonly log: Logger) {}

  apply(tx: WriteTxn, lsn: Lsn, env: Envelope, effects: Effect[]): void {
    const { header, command } = env;
    if (header.epoch !== undefined && header.epoch < tx.leaderEpoch()) {
      // Proposed by a deposed leader: its view may be stale, so the record must have no effect.
      this.log.debug({ lsn, epoch: header.epoch, current: tx.leaderEpoch(), t: command.t }, "ignoring record of old epoch");
      tx.setAppliedLsn(lsn);
      return;
    }
    new ApplyContext(tx, header.ts, effects, this.log).run(command);
    tx.setAppliedLsn(lsn);
  }
}

/** State for applying one record; `ts` is the only time source. */
class ApplyContext {
  constructor(
    private readonly tx: WriteTxn,
    private readonly ts: number,
    private readonly effects: Effect[],
    private readonly log: Logger,
  ) {}

  run(c: Command): void {
    switch (c.t) {
      case "announce-leader":
        if (c.epoch > this.tx.leaderEpoch()) this.tx.setLeaderEpoch(c.epoch);
        this.effects.push({ t: "leader", epoch: c.epoch, nodeId: c.nodeId });
        return;
      case "invoke":
        return this.invoke(c.request);
      case "journal-command":
        return this.journalCommand(c);
      case "run-completion": {
        const entry = this.notification(MessageType.RunCompletionNotification, pb.RunCompletionNotificationMessageSchema, {
          completionId: c.completionId,
          result: resultOneof(c.result),
        });
        return this.deliver(c.id, entry, { completionId: c.completionId, runAck: true });
      }
      case "suspend":
        return this.suspend(c.id, c.commandCount, c.awaiting);
      case "end":
        return this.end(c.id, c.commandCount);
      case "fail":
        return this.failInvocation(c.id, { kind: "failure", code: c.code, message: c.message });
      case "invocation-response": {
        const entry = this.notification(MessageType.CallCompletionNotification, pb.CallCompletionNotificationMessageSchema, {
          completionId: c.completionId,
          result: resultOneof(c.result),
        });
        return this.deliver(c.target, entry, { completionId: c.completionId });
      }
      case "timer-fired":
        return this.timerFired(c.key);
      case "outbox-shipped":
        this.tx.deleteOutbox(c.seq);
        return;
    }
  }

  // ---------------------------------------------------------------- invocation lifecycle

  private invoke(req: InvokeRequest): void {
    if (this.tx.getInvocation(req.id)) {
      this.log.debug({ invocationId: req.id }, "duplicate invoke ignored");
      return;
    }
    const input = enc(pb.InputCommandMessageSchema, {
      headers: req.headers.map((h) => ({ key: h.key, value: h.value })),
      value: { content: req.argument },
    });
    this.tx.appendJournal(req.id, { index: 0, type: MessageType.InputCommand, payload: input, appendedAt: this.ts });
    const delayed = req.executionTime !== undefined && req.executionTime > this.ts;
    const status: InvocationStatus = {
      id: req.id,
      status: "scheduled",
      target: req.target,
      headers: req.headers,
      responseSinks: req.responseSink ? [req.responseSink] : [],
      ...(req.idempotencyKey !== undefined ? { idempotencyKey: req.idempotencyKey } : {}),
      ...(req.invokedBy !== undefined ? { invokedBy: req.invokedBy } : {}),
      randomSeed: req.randomSeed,
      journalLength: 1,
      commandCount: 1,
      deliveredCompletions: [],
      createdAt: this.ts,
      modifiedAt: this.ts,
      completionRetentionMs: req.completionRetentionMs ?? DEFAULT_COMPLETION_RETENTION_MS,
      ...(delayed ? { scheduledAt: this.ts, executionTime: req.executionTime } : {}),
    };
    if (delayed) {
      this.tx.putInvocation(status);
      this.putTimer({ key: `invoke:${req.id}`, fireAt: req.executionTime!, kind: "delayed-invoke", invocationId: req.id });
      return;
    }
    this.schedule(status);
  }

  /** Runs the invocation now, or queues it behind the current holder of its object key. */
  private schedule(status: InvocationStatus): void {
    const { target } = status;
    if (needsKeyLock(target)) {
      const key = target.key ?? "";
      const holder = this.tx.getKeyLock(target.service, key);
      if (holder !== null && holder !== status.id) {
        const seq = this.tx.nextCounter("inbox");
        this.tx.pushInbox(target.service, key, status.id, seq);
        this.tx.putInvocation({ ...status, status: "inboxed", inboxedAt: this.ts, modifiedAt: this.ts });
        return;
      }
      this.tx.setKeyLock(target.service, key, status.id);
    }
    this.tx.putInvocation({ ...status, status: "invoked", runningAt: this.ts, modifiedAt: this.ts });
    this.effects.push({ t: "invoke", id: status.id });
  }

  private suspend(id: InvocationId, commandCount: number, awaiting: AwaitingOn): void {
    const inv = this.tx.getInvocation(id);
    if (!inv || inv.status !== "invoked" || inv.commandCount !== commandCount) return;
    const delivered = new Set(inv.deliveredCompletions);
    const ready =
      awaiting.completions.some((c) => delivered.has(c)) ||
      awaiting.signals.some((s) => delivered.has(signalSlot(s))) ||
      (awaiting.completions.length === 0 && awaiting.signals.length === 0 && awaiting.namedSignals.length === 0);
    if (ready) {
      // What it waits for arrived while it was suspending: resume right away.
      this.effects.push({ t: "invoke", id });
      return;
    }
    this.tx.putInvocation({ ...inv, status: "suspended", awaiting, modifiedAt: this.ts });
  }

  private end(id: InvocationId, commandCount: number): void {
    const inv = this.tx.getInvocation(id);
    if (!inv || inv.status !== "invoked" || inv.commandCount !== commandCount) return;
    this.complete(inv, inv.result ?? { kind: "failure", code: 500, message: "invocation ended without output" });
  }

  private failInvocation(id: InvocationId, result: InvocationResult): void {
    const inv = this.tx.getInvocation(id);
    if (!inv || inv.status === "completed") return;
    if (inv.status === "inboxed") {
      const entry = this.tx.listInbox().find((e) => e.invocationId === id);
      if (entry) this.tx.popInbox(entry.service, entry.key, entry.seq);
    }
    if (inv.status === "scheduled") this.tx.deleteTimer(`invoke:${id}`);
    this.sendResult(inv, result);
    this.complete(inv, result);
  }

  private complete(inv: InvocationStatus, result: InvocationResult): void {
    const completed: InvocationStatus = {
      ...inv,
      status: "completed",
      result,
      completedAt: this.ts,
      modifiedAt: this.ts,
    };
    const { awaiting: _dropped, ...withoutAwaiting } = completed;
    this.tx.putInvocation(withoutAwaiting);
    this.effects.push({ t: "abort", id: inv.id });
    this.putTimer({
      key: `cleanup:${inv.id}`,
      fireAt: this.ts + inv.completionRetentionMs,
      kind: "cleanup",
      invocationId: inv.id,
    });
    if (needsKeyLock(inv.target)) this.releaseKeyLock(inv.target.service, inv.target.key ?? "", inv.id);
  }

  private releaseKeyLock(service: string, key: string, holder: InvocationId): void {
    if (this.tx.getKeyLock(service, key) !== holder) return;
    this.tx.setKeyLock(service, key, null);
    const next = this.tx.peekInbox(service, key);
    if (!next) return;
    this.tx.popInbox(service, key, next.seq);
    const status = this.tx.getInvocation(next.invocationId);
    if (status && status.status === "inboxed") this.schedule(status);
  }

  /** Hands the result to every sink: ingress waiters now, calling invocations through the outbox. */
  private sendResult(inv: InvocationStatus, result: InvocationResult): void {
    this.effects.push({ t: "result", id: inv.id, result });
    for (const sink of inv.responseSinks) {
      if (sink.kind === "invocation") {
        this.outbox({ t: "invocation-response", target: sink.caller, completionId: sink.completionId, result });
      }
    }
  }

  private timerFired(key: string): void {
    const timer = this.tx.getTimer(key);
    if (!timer) return;
    this.tx.deleteTimer(key);
    switch (timer.kind) {
      case "sleep": {
        const entry = this.notification(MessageType.SleepCompletionNotification, pb.SleepCompletionNotificationMessageSchema, {
          completionId: timer.completionId!,
          void: {},
        });
        return this.deliver(timer.invocationId, entry, { completionId: timer.completionId! });
      }
      case "delayed-invoke": {
        const inv = this.tx.getInvocation(timer.invocationId);
        if (inv?.status === "scheduled") this.schedule(inv);
        return;
      }
      case "cleanup": {
        const inv = this.tx.getInvocation(timer.invocationId);
        if (inv?.status !== "completed") return;
        this.tx.deleteJournal(inv.id);
        this.tx.deleteInvocation(inv.id);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- journal

  private journalCommand(c: Extract<Command, { t: "journal-command" }>): void {
    const inv = this.tx.getInvocation(c.id);
    // A command from an attempt that is no longer current (retried, suspended, completed): drop it.
    if (!inv || inv.status !== "invoked" || c.commandIndex !== inv.commandCount) return;
    const entry: JournalEntry = {
      index: inv.journalLength,
      type: c.msgType,
      payload: c.payload,
      appendedAt: this.ts,
      ...commandName(c.msgType, c.payload),
    };
    this.tx.appendJournal(inv.id, entry);
    let status: InvocationStatus = {
      ...inv,
      journalLength: inv.journalLength + 1,
      commandCount: inv.commandCount + 1,
      modifiedAt: this.ts,
    };
    this.tx.putInvocation(status);
    const target = inv.target;
    const objKey = target.key ?? "";
    switch (c.msgType) {
      case MessageType.OutputCommand: {
        const out = dec(pb.OutputCommandMessageSchema, c.payload);
        const result: InvocationResult =
          out.result.case === "value"
            ? { kind: "success", value: out.result.value.content }
            : failureOf(out.result.case === "failure" ? out.result.value : undefined);
        status = { ...status, result };
        this.tx.putInvocation(status);
        this.sendResult(status, result);
        return;
      }
      case MessageType.SetStateCommand: {
        const m = dec(pb.SetStateCommandMessageSchema, c.payload);
        this.tx.setStateValue(target.service, objKey, stateKeyText(m.key), m.value?.content ?? new Uint8Array());
        return;
      }
      case MessageType.ClearStateCommand: {
        const m = dec(pb.ClearStateCommandMessageSchema, c.payload);
        this.tx.clearStateValue(target.service, objKey, stateKeyText(m.key));
        return;
      }
      case MessageType.ClearAllStateCommand:
        this.tx.clearAllState(target.service, objKey);
        return;
      case MessageType.GetLazyStateCommand: {
        const m = dec(pb.GetLazyStateCommandMessageSchema, c.payload);
        const value = this.tx.getStateValue(target.service, objKey, stateKeyText(m.key));
        const entry = this.notification(
          MessageType.GetLazyStateCompletionNotification,
          pb.GetLazyStateCompletionNotificationMessageSchema,
          {
            completionId: m.resultCompletionId,
            result: value === null ? { case: "void", value: {} } : { case: "value", value: { content: value } },
          },
        );
        return this.deliver(inv.id, entry, { completionId: m.resultCompletionId });
      }
      case MessageType.GetLazyStateKeysCommand: {
        const m = dec(pb.GetLazyStateKeysCommandMessageSchema, c.payload);
        const keys = this.tx.getStateKeys(target.service, objKey).map((k) => Buffer.from(k, "utf8"));
        const entry = this.notification(
          MessageType.GetLazyStateKeysCompletionNotification,
          pb.GetLazyStateKeysCompletionNotificationMessageSchema,
          { completionId: m.resultCompletionId, stateKeys: { keys } },
        );
        return this.deliver(inv.id, entry, { completionId: m.resultCompletionId });
      }
      case MessageType.SleepCommand: {
        const m = dec(pb.SleepCommandMessageSchema, c.payload);
        this.putTimer({
          key: `sleep:${inv.id}:${m.resultCompletionId}`,
          fireAt: Number(m.wakeUpTime),
          kind: "sleep",
          invocationId: inv.id,
          completionId: m.resultCompletionId,
        });
        return;
      }
      case MessageType.CallCommand: {
        const m = dec(pb.CallCommandMessageSchema, c.payload);
        return this.call(inv, c.callee, {
          service: m.serviceName,
          handler: m.handlerName,
          key: m.key,
          parameter: m.parameter,
          headers: m.headers,
          idempotencyKey: m.idempotencyKey,
          invocationIdCompletion: m.invocationIdNotificationIdx,
          resultCompletion: m.resultCompletionId,
        });
      }
      case MessageType.OneWayCallCommand: {
        const m = dec(pb.OneWayCallCommandMessageSchema, c.payload);
        return this.call(inv, c.callee, {
          service: m.serviceName,
          handler: m.handlerName,
          key: m.key,
          parameter: m.parameter,
          headers: m.headers,
          idempotencyKey: m.idempotencyKey,
          invocationIdCompletion: m.invocationIdNotificationIdx,
          ...(m.invokeTime > 0n ? { executionTime: Number(m.invokeTime) } : {}),
        });
      }
      default:
        // Run, eager state reads and custom entries only need to be journaled.
        return;
    }
  }

  private call(
    caller: InvocationStatus,
    callee: Extract<Command, { t: "journal-command" }>["callee"],
    m: {
      service: string;
      handler: string;
      key: string;
      parameter: Uint8Array;
      headers: { key: string; value: string }[];
      idempotencyKey?: string;
      invocationIdCompletion: number;
      resultCompletion?: number;
      executionTime?: number;
    },
  ): void {
    if (!callee || "error" in callee) {
      // The proposer could not resolve the target: fail the call, not the caller.
      const failure: InvocationResult = {
        kind: "failure",
        code: callee && "error" in callee ? callee.error.code : 500,
        message: callee && "error" in callee ? callee.error.message : "call without callee assignment",
      };
      if (m.resultCompletion !== undefined) {
        const entry = this.notification(MessageType.CallCompletionNotification, pb.CallCompletionNotificationMessageSchema, {
          completionId: m.resultCompletion,
          result: resultOneof(failure),
        });
        this.deliver(caller.id, entry, { completionId: m.resultCompletion });
      }
      return;
    }
    const request: InvokeRequest = {
      id: callee.invocationId,
      target: { ...callee.target, ...(callee.target.serviceType !== "SERVICE" ? { key: m.key } : {}) },
      argument: m.parameter,
      headers: m.headers.map((h) => ({ key: h.key, value: h.value })),
      randomSeed: callee.randomSeed,
      invokedBy: caller.id,
      ...(m.resultCompletion !== undefined
        ? { responseSink: { kind: "invocation" as const, caller: caller.id, completionId: m.resultCompletion } }
        : {}),
      ...(m.idempotencyKey ? { idempotencyKey: m.idempotencyKey } : {}),
      ...(m.executionTime !== undefined ? { executionTime: m.executionTime } : {}),
    };
    this.outbox({ t: "invoke", request });
    const entry = this.notification(
      MessageType.CallInvocationIdCompletionNotification,
      pb.CallInvocationIdCompletionNotificationMessageSchema,
      { completionId: m.invocationIdCompletion, invocationId: callee.invocationId },
    );
    this.deliver(caller.id, entry, { completionId: m.invocationIdCompletion });
  }

  // ---------------------------------------------------------------- helpers

  private notification<D extends DescMessage>(type: number, schema: D, init: Parameters<typeof create<D>>[1]): Omit<JournalEntry, "index"> {
    return { type, payload: enc(schema, init), appendedAt: this.ts };
  }

  /**
   * Journals a notification for `id` once (duplicates by completion id are dropped), forwards it to
   * a live attempt, and resumes the invocation if it was suspended waiting for it.
   */
  private deliver(
    id: InvocationId,
    partial: Omit<JournalEntry, "index">,
    key: { completionId: number; runAck?: boolean },
  ): void {
    const inv = this.tx.getInvocation(id);
    if (!inv || (inv.status !== "invoked" && inv.status !== "suspended")) return;
    if (inv.deliveredCompletions.includes(key.completionId)) return;
    const entry: JournalEntry = { ...partial, index: inv.journalLength };
    this.tx.appendJournal(id, entry);
    const resumes = inv.status === "suspended" && (inv.awaiting?.completions.includes(key.completionId) ?? false);
    const { awaiting: _a, ...rest } = inv;
    this.tx.putInvocation({
      ...(resumes ? rest : inv),
      status: resumes ? "invoked" : inv.status,
      journalLength: inv.journalLength + 1,
      deliveredCompletions: [...inv.deliveredCompletions, key.completionId],
      modifiedAt: this.ts,
    });
    if (resumes) this.effects.push({ t: "invoke", id });
    else if (inv.status === "invoked") {
      this.effects.push({ t: "notification", id, entry, ...(key.runAck ? { runAck: key.completionId } : {}) });
    }
  }

  private putTimer(timer: TimerEntry): void {
    this.tx.putTimer(timer);
    this.effects.push({ t: "timer", timer });
  }

  private outbox(message: OutboxMessage): void {
    const entry = { seq: this.tx.nextCounter("outbox"), message: encodeOutboxMessage(message) };
    this.tx.putOutbox(entry);
    this.effects.push({ t: "outbox", entry });
  }
}

/** Signals share the delivered set with completions, offset so the id spaces never collide. */
function signalSlot(signalIdx: number): number {
  return -1 - signalIdx;
}

function resultOneof(r: InvocationResult) {
  return r.kind === "success"
    ? { case: "value" as const, value: { content: r.value } }
    : { case: "failure" as const, value: { code: r.code, message: r.message } };
}

/** State keys are bytes on the wire; the SDK uses UTF-8 strings, which is what we index by. */
function stateKeyText(key: Uint8Array): string {
  return Buffer.from(key).toString("utf8");
}

function commandName(type: number, payload: Uint8Array): { name?: string } {
  const schema = pb.commandSchemaOf?.(type);
  if (!schema) return {};
  const name = (dec(schema, payload) as { name?: string }).name;
  return name ? { name } : {};
}
