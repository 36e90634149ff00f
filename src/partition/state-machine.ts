import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import * as pb from "../protocol/gen/dev/restate/service/protocol_pb.ts";
import { MessageType, commandSchema } from "../protocol/message-type.ts";
import type { WriteTxn, TimerEntry, OutboxEntry } from "../storage/partition-store.ts";
import type { InvocationId, LeaderEpoch, Lsn } from "../types/ids.ts";
import { parseAwakeableId } from "./awakeable-id.ts";
import { idempotentInvocationId, workflowRunInvocationId } from "./routing.ts";
import {
  CANCEL_SIGNAL,
  needsKeyLock,
  type AwaitingOn,
  type InvocationResult,
  type InvocationStatus,
  type JournalEntry,
  type ResponseSink,
  type ResponseVia,
  type SignalId,
  type SignalResult,
} from "../types/invocation.ts";
import {
  encodeOutboxMessage,
  type AttachCommand,
  type CalleeAssignment,
  type Command,
  type Envelope,
  type InvokeRequest,
  type OutboxMessage,
  type SignalCommand,
} from "./records.ts";

/** Completed invocations (and their journals) are kept this long unless the handler says otherwise. */
export const DEFAULT_COMPLETION_RETENTION_MS = 24 * 60 * 60 * 1000;

// Restate's well-known failures (codes are HTTP-like).
const KILLED: InvocationResult = { kind: "failure", code: 409, message: "killed" };
const CANCELED: InvocationResult = { kind: "failure", code: 409, message: "canceled" };
const PROMISE_ALREADY_COMPLETED = { code: 409, message: "promise was already completed" };
const NOT_READY = { code: 470, message: "the response is not ready yet" };

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

type Init<D extends DescMessage> = MessageInitShape<D>;
const enc = <D extends DescMessage>(schema: D, init: Init<D>): Uint8Array => toBinary(schema, create(schema, init));
const dec = <D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> => fromBinary(schema, bytes);

/** Which notification, and under which id, a journal entry delivers. */
type DeliveryKey = { readonly completionId: number; readonly runAck?: boolean } | { readonly signal: SignalId };

/**
 * The deterministic heart of a partition: `apply` is a pure function of (store, record). It never
 * reads the clock, randomness or the environment; time comes from the record header.
 */
export class StateMachine {
  constructor(private readonly log: Logger) {}

  /** Applies one record; the caller records the applied LSN once per batch, in the same transaction. */
  apply(tx: WriteTxn, lsn: Lsn, env: Envelope, effects: Effect[]): void {
    const { header, command } = env;
    if (header.epoch !== undefined && header.epoch < tx.leaderEpoch()) {
      // Proposed by a deposed leader: its view may be stale, so the record must have no effect.
      this.log.debug({ lsn, epoch: header.epoch, current: tx.leaderEpoch(), t: command.t }, "ignoring record of old epoch");
    } else {
      new ApplyContext(tx, header.ts, effects, this.log).run(command);
    }
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
        return this.terminate(c.id, { kind: "failure", code: c.code, message: c.message });
      case "invocation-response":
        return this.response(c.target, c.completionId, c.result, c.via ?? "call", c.notReady ?? false);
      case "timer-fired":
        return this.timerFired(c.key);
      case "outbox-shipped":
        this.tx.deleteOutbox(c.seq);
        return;
      case "signal":
        return this.signal(c);
      case "attach":
        return this.attach(c);
      case "cancel":
        return this.cancel(c.id);
      case "kill":
        return this.terminate(c.id, KILLED);
      case "purge":
        return this.purge(c.id);
    }
  }

  // ---------------------------------------------------------------- invocation lifecycle

  private invoke(req: InvokeRequest): void {
    const existing = this.tx.getInvocation(req.id);
    if (existing) {
      // Same id again: an idempotent request, a second workflow run, or a re-shipped outbox
      // message. Never a second execution; the new caller gets the (eventual) result.
      if (req.responseSink) this.addSink(existing, req.responseSink);
      return;
    }
    const input = enc(pb.InputCommandMessageSchema, {
      headers: req.headers.map((h) => ({ key: h.key, value: h.value })),
      value: { content: req.argument },
    });
    this.tx.appendJournal(req.id, { index: 0, type: MessageType.InputCommand, payload: input, appendedAt: this.ts });
    if (req.idempotencyKey !== undefined) this.tx.putIdempotency(idempotencyScope(req), { invocationId: req.id });
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

  private addSink(inv: InvocationStatus, sink: ResponseSink): void {
    if (inv.status === "completed") {
      this.sendResultTo(inv.id, sink, inv.result!);
      return;
    }
    if (inv.responseSinks.some((s) => sameSink(s, sink))) return;
    this.tx.putInvocation({ ...inv, responseSinks: [...inv.responseSinks, sink], modifiedAt: this.ts });
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
    const nothingAwaited = awaiting.completions.length + awaiting.signals.length + awaiting.namedSignals.length === 0;
    if (nothingAwaited || isAwaited(inv, awaiting)) {
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

  /** Ends an invocation from outside its journal (kill, exhausted retries): the result is final. */
  private terminate(id: InvocationId, result: InvocationResult): void {
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

  private cancel(id: InvocationId): void {
    const inv = this.tx.getInvocation(id);
    if (!inv || inv.status === "completed") return;
    if (inv.status === "inboxed" || inv.status === "scheduled") {
      this.terminate(id, CANCELED);
      return;
    }
    // A running invocation cancels itself: the SDK turns the signal into a terminal error and
    // propagates it to the calls it is waiting for.
    this.deliverSignal(inv.id, { idx: CANCEL_SIGNAL }, { kind: "void" });
  }

  private purge(id: InvocationId): void {
    const inv = this.tx.getInvocation(id);
    if (!inv || inv.status !== "completed") return;
    this.tx.deleteTimer(`cleanup:${id}`);
    this.forget(inv);
  }

  private forget(inv: InvocationStatus): void {
    this.tx.deleteJournal(inv.id);
    this.tx.deleteInvocation(inv.id);
    if (inv.idempotencyKey !== undefined) this.tx.deleteIdempotency(idempotencyScope({ target: inv.target, idempotencyKey: inv.idempotencyKey }));
    if (inv.target.handlerType === "WORKFLOW") {
      // A workflow's state and promises live as long as its run invocation is retained.
      this.tx.clearAllState(inv.target.service, inv.target.key ?? "");
      this.tx.clearPromises(inv.target.service, inv.target.key ?? "");
    }
  }

  private complete(inv: InvocationStatus, result: InvocationResult): void {
    const { awaiting: _dropped, ...rest } = inv;
    this.tx.putInvocation({ ...rest, status: "completed", result, completedAt: this.ts, modifiedAt: this.ts });
    this.effects.push({ t: "abort", id: inv.id });
    this.putTimer({ key: `cleanup:${inv.id}`, fireAt: this.ts + inv.completionRetentionMs, kind: "cleanup", invocationId: inv.id });
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
  sendResult(inv: InvocationStatus, result: InvocationResult): void {
    this.effects.push({ t: "result", id: inv.id, result });
    for (const sink of inv.responseSinks) if (sink.kind === "invocation") this.sendResultTo(inv.id, sink, result);
  }

  sendResultTo(id: InvocationId, sink: ResponseSink, result: InvocationResult): void {
    if (sink.kind === "ingress") {
      this.effects.push({ t: "result", id, result });
      return;
    }
    this.outbox({ t: "invocation-response", target: sink.caller, completionId: sink.completionId, result, ...(sink.via ? { via: sink.via } : {}) });
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
        if (inv?.status === "completed") this.forget(inv);
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
    const status: InvocationStatus = { ...inv, journalLength: inv.journalLength + 1, commandCount: inv.commandCount + 1, modifiedAt: this.ts };
    this.tx.putInvocation(status);
    new CommandEffects(this, status).apply(c.msgType, c.payload, c.callee);
  }

  // ---------------------------------------------------------------- cross-invocation messages

  response(target: InvocationId, completionId: number, result: InvocationResult, via: ResponseVia, notReady: boolean): void {
    if (via === "call") {
      const entry = this.notification(MessageType.CallCompletionNotification, pb.CallCompletionNotificationMessageSchema, {
        completionId,
        result: resultOneof(result),
      });
      return this.deliver(target, entry, { completionId });
    }
    if (via === "attach") {
      const entry = this.notification(MessageType.AttachInvocationCompletionNotification, pb.AttachInvocationCompletionNotificationMessageSchema, {
        completionId,
        result: resultOneof(result),
      });
      return this.deliver(target, entry, { completionId });
    }
    const entry = this.notification(MessageType.GetInvocationOutputCompletionNotification, pb.GetInvocationOutputCompletionNotificationMessageSchema, {
      completionId,
      result: notReady ? { case: "void", value: {} } : resultOneof(result),
    });
    this.deliver(target, entry, { completionId });
  }

  private signal(c: SignalCommand): void {
    this.deliverSignal(c.target, c.signal, c.result);
  }

  deliverSignal(target: InvocationId, signal: SignalId, result: SignalResult): void {
    const entry = this.notification(MessageType.SignalNotification, pb.SignalNotificationMessageSchema, {
      signalId: "idx" in signal ? { case: "idx", value: signal.idx } : { case: "name", value: signal.name },
      result: result.kind === "void" ? { case: "void", value: {} } : resultOneof(result),
    });
    this.deliver(target, entry, { signal });
  }

  /** Request for `target`'s output from another invocation (AttachInvocation / GetInvocationOutput). */
  private attach(c: AttachCommand): void {
    const inv = this.tx.getInvocation(c.target);
    const sink: ResponseSink = { kind: "invocation", caller: c.caller, completionId: c.completionId, via: c.via };
    if (!inv) {
      this.sendResultTo(c.target, sink, { kind: "failure", code: 404, message: `invocation ${c.target} not found` });
      return;
    }
    if (inv.status === "completed" || c.via === "attach") {
      this.addSink(inv, sink);
      return;
    }
    this.outbox({ t: "invocation-response", target: c.caller, completionId: c.completionId, result: { kind: "failure", ...NOT_READY }, via: "output", notReady: true });
  }

  // ---------------------------------------------------------------- helpers used by command effects

  notification<D extends DescMessage>(type: number, schema: D, init: Init<D>): Omit<JournalEntry, "index"> {
    return { type, payload: enc(schema, init), appendedAt: this.ts };
  }

  /**
   * Journals a notification for `id` once (duplicates are dropped), forwards it to a live attempt,
   * and resumes the invocation if it was suspended waiting for it.
   */
  deliver(id: InvocationId, partial: Omit<JournalEntry, "index">, key: DeliveryKey): void {
    const inv = this.tx.getInvocation(id);
    if (!inv || (inv.status !== "invoked" && inv.status !== "suspended")) return;
    const signals = inv.deliveredSignals ?? [];
    if ("completionId" in key ? inv.deliveredCompletions.includes(key.completionId) : signals.includes(signalToken(key.signal))) return;
    const entry: JournalEntry = { ...partial, index: inv.journalLength };
    this.tx.appendJournal(id, entry);
    const resumes =
      inv.status === "suspended" &&
      inv.awaiting !== undefined &&
      ("completionId" in key
        ? inv.awaiting.completions.includes(key.completionId)
        : "idx" in key.signal
          ? inv.awaiting.signals.includes(key.signal.idx)
          : inv.awaiting.namedSignals.includes(key.signal.name));
    const { awaiting: _a, ...withoutAwaiting } = inv;
    this.tx.putInvocation({
      ...(resumes ? withoutAwaiting : inv),
      status: resumes ? "invoked" : inv.status,
      journalLength: inv.journalLength + 1,
      ...("completionId" in key
        ? { deliveredCompletions: [...inv.deliveredCompletions, key.completionId] }
        : { deliveredSignals: [...signals, signalToken(key.signal)] }),
      modifiedAt: this.ts,
    });
    if (resumes) this.effects.push({ t: "invoke", id });
    else if (inv.status === "invoked") {
      const runAck = "completionId" in key && key.runAck ? { runAck: key.completionId } : {};
      this.effects.push({ t: "notification", id, entry, ...runAck });
    }
  }

  putTimer(timer: TimerEntry): void {
    this.tx.putTimer(timer);
    this.effects.push({ t: "timer", timer });
  }

  outbox(message: OutboxMessage): void {
    const entry = { seq: this.tx.nextCounter("outbox"), message: encodeOutboxMessage(message) };
    this.tx.putOutbox(entry);
    this.effects.push({ t: "outbox", entry });
  }

  get store(): WriteTxn {
    return this.tx;
  }

  warn(obj: object, msg: string): void {
    this.log.warn(obj, msg);
  }
}

/** What each command the SDK journals does to the partition, beyond being journaled. */
class CommandEffects {
  private readonly service: string;
  private readonly objKey: string;

  constructor(
    private readonly ctx: ApplyContext,
    private readonly inv: InvocationStatus,
  ) {
    this.service = inv.target.service;
    this.objKey = inv.target.key ?? "";
  }

  apply(type: number, payload: Uint8Array, callee: CalleeAssignment | undefined): void {
    const tx = this.ctx.store;
    switch (type) {
      case MessageType.OutputCommand: {
        const out = dec(pb.OutputCommandMessageSchema, payload);
        const result: InvocationResult =
          out.result.case === "value"
            ? { kind: "success", value: out.result.value.content }
            : { kind: "failure", code: out.result.value?.code ?? 500, message: out.result.value?.message ?? "" };
        tx.putInvocation({ ...this.inv, result });
        this.ctx.sendResult(this.inv, result);
        return;
      }
      case MessageType.SetStateCommand: {
        const m = dec(pb.SetStateCommandMessageSchema, payload);
        tx.setStateValue(this.service, this.objKey, text(m.key), m.value?.content ?? new Uint8Array());
        return;
      }
      case MessageType.ClearStateCommand:
        tx.clearStateValue(this.service, this.objKey, text(dec(pb.ClearStateCommandMessageSchema, payload).key));
        return;
      case MessageType.ClearAllStateCommand:
        tx.clearAllState(this.service, this.objKey);
        return;
      case MessageType.GetLazyStateCommand: {
        const m = dec(pb.GetLazyStateCommandMessageSchema, payload);
        const value = tx.getStateValue(this.service, this.objKey, text(m.key));
        return this.complete(MessageType.GetLazyStateCompletionNotification, pb.GetLazyStateCompletionNotificationMessageSchema, m.resultCompletionId, {
          result: value === null ? { case: "void", value: {} } : { case: "value", value: { content: value } },
        });
      }
      case MessageType.GetLazyStateKeysCommand: {
        const m = dec(pb.GetLazyStateKeysCommandMessageSchema, payload);
        const keys = tx.getStateKeys(this.service, this.objKey).map((k) => Buffer.from(k, "utf8"));
        return this.complete(MessageType.GetLazyStateKeysCompletionNotification, pb.GetLazyStateKeysCompletionNotificationMessageSchema, m.resultCompletionId, {
          stateKeys: { keys },
        });
      }
      case MessageType.SleepCommand: {
        const m = dec(pb.SleepCommandMessageSchema, payload);
        this.ctx.putTimer({
          key: `sleep:${this.inv.id}:${m.resultCompletionId}`,
          fireAt: Number(m.wakeUpTime),
          kind: "sleep",
          invocationId: this.inv.id,
          completionId: m.resultCompletionId,
        });
        return;
      }
      case MessageType.CallCommand: {
        const m = dec(pb.CallCommandMessageSchema, payload);
        return this.call(callee, m, m.invocationIdNotificationIdx, m.resultCompletionId);
      }
      case MessageType.OneWayCallCommand: {
        const m = dec(pb.OneWayCallCommandMessageSchema, payload);
        return this.call(callee, m, m.invocationIdNotificationIdx, undefined, m.invokeTime > 0n ? Number(m.invokeTime) : undefined);
      }
      case MessageType.GetPromiseCommand: {
        const m = dec(pb.GetPromiseCommandMessageSchema, payload);
        const p = tx.getPromise(this.service, this.objKey, m.key);
        if (p && p.state !== "pending") {
          return this.complete(MessageType.GetPromiseCompletionNotification, pb.GetPromiseCompletionNotificationMessageSchema, m.resultCompletionId, {
            result: promiseResult(p),
          });
        }
        const waiters = [...(p?.waiters ?? []), { invocationId: this.inv.id, completionId: m.resultCompletionId }];
        tx.putPromise(this.service, this.objKey, m.key, { state: "pending", waiters });
        return;
      }
      case MessageType.PeekPromiseCommand: {
        const m = dec(pb.PeekPromiseCommandMessageSchema, payload);
        const p = tx.getPromise(this.service, this.objKey, m.key);
        return this.complete(MessageType.PeekPromiseCompletionNotification, pb.PeekPromiseCompletionNotificationMessageSchema, m.resultCompletionId, {
          result: p && p.state !== "pending" ? promiseResult(p) : { case: "void", value: {} },
        });
      }
      case MessageType.CompletePromiseCommand:
        return this.completePromise(dec(pb.CompletePromiseCommandMessageSchema, payload));
      case MessageType.SendSignalCommand: {
        const m = dec(pb.SendSignalCommandMessageSchema, payload);
        const signal: SignalId = m.signalId.case === "name" ? { name: m.signalId.value } : { idx: m.signalId.value ?? 0 };
        const result: SignalResult =
          m.result.case === "value"
            ? { kind: "success", value: m.result.value.content }
            : m.result.case === "failure"
              ? { kind: "failure", code: m.result.value.code, message: m.result.value.message }
              : { kind: "void" };
        this.ctx.outbox({ t: "signal", target: m.targetInvocationId as InvocationId, signal, result });
        return;
      }
      case MessageType.CompleteAwakeableCommand: {
        const m = dec(pb.CompleteAwakeableCommandMessageSchema, payload);
        const parsed = parseAwakeableId(m.awakeableId);
        if (!parsed) {
          this.ctx.warn({ invocationId: this.inv.id, awakeableId: m.awakeableId }, "ignoring completion of a malformed awakeable id");
          return;
        }
        const result: SignalResult =
          m.result.case === "value"
            ? { kind: "success", value: m.result.value.content }
            : { kind: "failure", code: m.result.value?.code ?? 500, message: m.result.value?.message ?? "" };
        this.ctx.outbox({ t: "signal", target: parsed.invocationId, signal: { idx: parsed.signalIdx }, result });
        return;
      }
      case MessageType.AttachInvocationCommand:
      case MessageType.GetInvocationOutputCommand: {
        const attach = type === MessageType.AttachInvocationCommand;
        const m = attach ? dec(pb.AttachInvocationCommandMessageSchema, payload) : dec(pb.GetInvocationOutputCommandMessageSchema, payload);
        const target = attachTarget(m.target);
        if (target === null) {
          const failure = { kind: "failure" as const, code: 400, message: "attach target is not an invocation id" };
          this.ctx.response(this.inv.id, m.resultCompletionId, failure, attach ? "attach" : "output", false);
          return;
        }
        this.ctx.outbox({ t: "attach", target, caller: this.inv.id, completionId: m.resultCompletionId, via: attach ? "attach" : "output" });
        return;
      }
      default:
        // Run, eager state reads and custom entries only need to be journaled.
        return;
    }
  }

  private complete<D extends DescMessage>(type: number, schema: D, completionId: number, init: Init<D>): void {
    const entry = this.ctx.notification(type, schema, { ...init, completionId } as Init<D>);
    this.ctx.deliver(this.inv.id, entry, { completionId });
  }

  private completePromise(m: pb.CompletePromiseCommandMessage): void {
    const tx = this.ctx.store;
    const p = tx.getPromise(this.service, this.objKey, m.key);
    if (p && p.state !== "pending") {
      return this.complete(MessageType.CompletePromiseCompletionNotification, pb.CompletePromiseCompletionNotificationMessageSchema, m.resultCompletionId, {
        result: { case: "failure", value: PROMISE_ALREADY_COMPLETED },
      });
    }
    const resolved =
      m.completion.case === "completionValue"
        ? { state: "resolved" as const, value: m.completion.value.content, waiters: [] }
        : { state: "rejected" as const, failure: { code: m.completion.value?.code ?? 500, message: m.completion.value?.message ?? "" }, waiters: [] };
    tx.putPromise(this.service, this.objKey, m.key, resolved);
    for (const w of p?.waiters ?? []) {
      const entry = this.ctx.notification(MessageType.GetPromiseCompletionNotification, pb.GetPromiseCompletionNotificationMessageSchema, {
        completionId: w.completionId,
        result: promiseResult(resolved),
      });
      this.ctx.deliver(w.invocationId, entry, { completionId: w.completionId });
    }
    this.complete(MessageType.CompletePromiseCompletionNotification, pb.CompletePromiseCompletionNotificationMessageSchema, m.resultCompletionId, {
      result: { case: "void", value: {} },
    });
  }

  private call(
    callee: CalleeAssignment | undefined,
    m: { serviceName: string; handlerName: string; key: string; parameter: Uint8Array; headers: { key: string; value: string }[]; idempotencyKey?: string },
    invocationIdCompletion: number,
    resultCompletion?: number,
    executionTime?: number,
  ): void {
    if (!callee || "error" in callee) {
      // The proposer could not resolve the target: fail the call, not the caller.
      const error = callee && "error" in callee ? callee.error : { code: 500, message: "call without callee assignment" };
      if (resultCompletion !== undefined) this.ctx.response(this.inv.id, resultCompletion, { kind: "failure", ...error }, "call", false);
      return;
    }
    const request: InvokeRequest = {
      id: callee.invocationId,
      target: { ...callee.target, ...(callee.target.serviceType !== "SERVICE" ? { key: m.key } : {}) },
      argument: m.parameter,
      headers: m.headers.map((h) => ({ key: h.key, value: h.value })),
      randomSeed: callee.randomSeed,
      invokedBy: this.inv.id,
      ...(resultCompletion !== undefined ? { responseSink: { kind: "invocation" as const, caller: this.inv.id, completionId: resultCompletion } } : {}),
      ...(m.idempotencyKey ? { idempotencyKey: m.idempotencyKey } : {}),
      ...(executionTime !== undefined ? { executionTime } : {}),
      ...(callee.completionRetentionMs !== undefined ? { completionRetentionMs: callee.completionRetentionMs } : {}),
    };
    this.ctx.outbox({ t: "invoke", request });
    this.complete(MessageType.CallInvocationIdCompletionNotification, pb.CallInvocationIdCompletionNotificationMessageSchema, invocationIdCompletion, {
      invocationId: callee.invocationId,
    });
  }
}

/** Idempotency is scoped by target: the same key on another handler is another request. */
export function idempotencyScope(req: { target: { service: string; handler: string; key?: string }; idempotencyKey?: string }): string {
  return `${req.target.service}/${req.target.key ?? ""}/${req.target.handler}/${req.idempotencyKey ?? ""}`;
}

function sameSink(a: ResponseSink, b: ResponseSink): boolean {
  if (a.kind === "ingress" || b.kind === "ingress") return a.kind === b.kind;
  return a.caller === b.caller && a.completionId === b.completionId;
}

function isAwaited(inv: InvocationStatus, awaiting: AwaitingOn): boolean {
  const signals = new Set(inv.deliveredSignals ?? []);
  return (
    awaiting.completions.some((c) => inv.deliveredCompletions.includes(c)) ||
    awaiting.signals.some((s) => signals.has(s)) ||
    awaiting.namedSignals.some((n) => signals.has(`name:${n}`))
  );
}

function signalToken(s: SignalId): number | string {
  return "idx" in s ? s.idx : `name:${s.name}`;
}

function resultOneof(r: InvocationResult) {
  return r.kind === "success"
    ? { case: "value" as const, value: { content: r.value } }
    : { case: "failure" as const, value: { code: r.code, message: r.message } };
}

function promiseResult(p: { state: string; value?: Uint8Array; failure?: { code: number; message: string } }) {
  return p.state === "resolved"
    ? { case: "value" as const, value: { content: p.value ?? new Uint8Array() } }
    : { case: "failure" as const, value: { code: p.failure?.code ?? 500, message: p.failure?.message ?? "" } };
}

function attachTarget(t: pb.AttachInvocationCommandMessage["target"]): InvocationId | null {
  switch (t.case) {
    case "invocationId":
      return t.value as InvocationId;
    case "idempotentRequestTarget":
      return idempotentInvocationId(t.value.serviceName, t.value.serviceKey ?? "", t.value.handlerName, t.value.idempotencyKey);
    case "workflowTarget":
      return workflowRunInvocationId(t.value.workflowName, t.value.workflowKey);
    default:
      return null;
  }
}

/** State keys are bytes on the wire; the SDK uses UTF-8 strings, which is what we index by. */
function text(key: Uint8Array): string {
  return Buffer.from(key).toString("utf8");
}

function commandName(type: number, payload: Uint8Array): { name?: string } {
  const schema = commandSchema(type);
  if (!schema) return {};
  const name = (dec(schema, payload) as { name?: string }).name;
  return name ? { name } : {};
}
