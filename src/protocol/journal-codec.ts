import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { Header, InvocationResult, SignalId, SignalResult } from "../types/invocation.ts";
import * as pb from "./gen/dev/restate/service/protocol_pb.ts";
import { isNotificationType, MessageType, messageSchema } from "./message-type.ts";

/**
 * The journal as the partition's state machine sees it: SDK commands decoded once into typed
 * messages, and the notifications (and the input command) it journals encoded from domain values.
 * Every protobuf shape the state machine depends on is spelled out here.
 */

/** Commands an SDK journals (InputCommand goes the other way, from the runtime to the SDK). */
const COMMAND_SCHEMAS = {
  [MessageType.OutputCommand]: pb.OutputCommandMessageSchema,
  [MessageType.GetLazyStateCommand]: pb.GetLazyStateCommandMessageSchema,
  [MessageType.SetStateCommand]: pb.SetStateCommandMessageSchema,
  [MessageType.ClearStateCommand]: pb.ClearStateCommandMessageSchema,
  [MessageType.ClearAllStateCommand]: pb.ClearAllStateCommandMessageSchema,
  [MessageType.GetLazyStateKeysCommand]: pb.GetLazyStateKeysCommandMessageSchema,
  [MessageType.GetEagerStateCommand]: pb.GetEagerStateCommandMessageSchema,
  [MessageType.GetEagerStateKeysCommand]: pb.GetEagerStateKeysCommandMessageSchema,
  [MessageType.GetPromiseCommand]: pb.GetPromiseCommandMessageSchema,
  [MessageType.PeekPromiseCommand]: pb.PeekPromiseCommandMessageSchema,
  [MessageType.CompletePromiseCommand]: pb.CompletePromiseCommandMessageSchema,
  [MessageType.SleepCommand]: pb.SleepCommandMessageSchema,
  [MessageType.CallCommand]: pb.CallCommandMessageSchema,
  [MessageType.OneWayCallCommand]: pb.OneWayCallCommandMessageSchema,
  [MessageType.SendSignalCommand]: pb.SendSignalCommandMessageSchema,
  [MessageType.RunCommand]: pb.RunCommandMessageSchema,
  [MessageType.AttachInvocationCommand]: pb.AttachInvocationCommandMessageSchema,
  [MessageType.GetInvocationOutputCommand]: pb.GetInvocationOutputCommandMessageSchema,
  [MessageType.CompleteAwakeableCommand]: pb.CompleteAwakeableCommandMessageSchema,
} as const satisfies Record<number, DescMessage>;

type CommandSchemas = typeof COMMAND_SCHEMAS;

/** Frame type of a command an SDK journals. */
export type JournalCommandType = keyof CommandSchemas;

/** The decoded message of each journal command type. */
export type JournalCommandMessages = { readonly [K in JournalCommandType]: MessageShape<CommandSchemas[K]> };

/** A decoded journal command: its type and message, correlated. */
export type DecodedJournalCommand<K extends JournalCommandType = JournalCommandType> = {
  readonly [P in K]: { readonly type: P; readonly message: JournalCommandMessages[P] };
}[K];

function isJournalCommandType(type: number): type is JournalCommandType {
  return (COMMAND_SCHEMAS as Record<number, DescMessage | undefined>)[type] !== undefined;
}

/**
 * Decodes a command the SDK journaled; undefined for a type that is no SDK command (custom
 * entries, which are opaque to the runtime). Throws on a malformed payload.
 */
export function decodeJournalCommand(type: number, payload: Uint8Array): DecodedJournalCommand | undefined {
  if (!isJournalCommandType(type)) return undefined;
  return { type, message: fromBinary(COMMAND_SCHEMAS[type], payload) } as DecodedJournalCommand;
}

/**
 * The name the SDK gave a command (e.g. a `ctx.run` name), or undefined when it gave none.
 * SendSignal carries its name in `entry_name`, which the journal does not record.
 */
export function journalCommandName(m: JournalCommandMessages[JournalCommandType]): string | undefined {
  return "name" in m && m.name !== "" ? m.name : undefined;
}

/**
 * The completion ids a command waits for (its result, and for calls the callee's id). Restart-as-new
 * copies a command only together with these completions.
 */
export function commandCompletionIds(m: JournalCommandMessages[JournalCommandType]): number[] {
  const ids: number[] = [];
  if ("invocationIdNotificationIdx" in m) ids.push(m.invocationIdNotificationIdx);
  if ("resultCompletionId" in m) ids.push(m.resultCompletionId);
  return ids;
}

/** Which notification a journaled one is: a completion (by id) or a signal; undefined for other types. */
export function notificationKey(type: number, payload: Uint8Array): { readonly completionId: number } | { readonly signal: SignalId } | undefined {
  if (type === MessageType.SignalNotification) {
    const m = fromBinary(pb.SignalNotificationMessageSchema, payload);
    return { signal: m.signalId.case === "name" ? { name: m.signalId.value } : { idx: m.signalId.value ?? 0 } };
  }
  const schema = messageSchema(type);
  if (!schema || !isNotificationType(type)) return undefined;
  return { completionId: (fromBinary(schema, payload) as unknown as { completionId: number }).completionId };
}

/** The callee a journaled CallInvocationIdCompletion names, for calls and sends alike; undefined for other entries. */
export function calledInvocationId(type: number, payload: Uint8Array): string | undefined {
  if (type !== MessageType.CallInvocationIdCompletionNotification) return undefined;
  return fromBinary(pb.CallInvocationIdCompletionNotificationMessageSchema, payload).invocationId;
}

/** State keys are bytes on the wire; the SDK writes UTF-8 strings, which is what state is indexed by. */
export function stateKeyText(key: Uint8Array): string {
  return Buffer.from(key).toString("utf8");
}

/** Output and CompleteAwakeable: a value, else a failure (500 when the SDK sent neither). */
export function valueOrFailure(r: pb.OutputCommandMessage["result"] | pb.CompleteAwakeableCommandMessage["result"]): InvocationResult {
  return r.case === "value"
    ? { kind: "success", value: r.value.content }
    : { kind: "failure", code: r.value?.code ?? 500, message: r.value?.message ?? "" };
}

/** How CompletePromise completes its promise. */
export function promiseCompletion(m: pb.CompletePromiseCommandMessage): InvocationResult {
  return m.completion.case === "completionValue"
    ? { kind: "success", value: m.completion.value.content }
    : { kind: "failure", code: m.completion.value?.code ?? 500, message: m.completion.value?.message ?? "" };
}

export function sentSignalId(m: pb.SendSignalCommandMessage): SignalId {
  return m.signalId.case === "name" ? { name: m.signalId.value } : { idx: m.signalId.value ?? 0 };
}

export function sentSignalResult(m: pb.SendSignalCommandMessage): SignalResult {
  switch (m.result.case) {
    case "value":
      return { kind: "success", value: m.result.value.content };
    case "failure":
      return { kind: "failure", code: m.result.value.code, message: m.result.value.message };
    default:
      return { kind: "void" };
  }
}

// ---------------------------------------------------------------- what the state machine journals

/** A notification ready to journal: its frame type and payload. */
export interface EncodedNotification {
  readonly type: number;
  readonly payload: Uint8Array;
}

function encode<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

function notification<D extends DescMessage>(type: number, schema: D, init: MessageInitShape<D>): EncodedNotification {
  return { type, payload: encode(schema, init) };
}

function resultOneof(r: InvocationResult) {
  return r.kind === "success"
    ? { case: "value" as const, value: { content: r.value } }
    : { case: "failure" as const, value: { code: r.code, message: r.message } };
}

const VOID = { case: "void", value: {} } as const;

/** Journal entry 0 of every invocation: what the SDK receives as the handler's input. */
export function encodeInputCommand(headers: readonly Header[], argument: Uint8Array): Uint8Array {
  return encode(pb.InputCommandMessageSchema, { headers: headers.map((h) => ({ key: h.key, value: h.value })), value: { content: argument } });
}

/** `value` null: the state key is not set. */
export function getLazyStateCompletion(completionId: number, value: Uint8Array | null): EncodedNotification {
  return notification(MessageType.GetLazyStateCompletionNotification, pb.GetLazyStateCompletionNotificationMessageSchema, {
    completionId,
    result: value === null ? VOID : { case: "value", value: { content: value } },
  });
}

export function getLazyStateKeysCompletion(completionId: number, keys: readonly string[]): EncodedNotification {
  return notification(MessageType.GetLazyStateKeysCompletionNotification, pb.GetLazyStateKeysCompletionNotificationMessageSchema, {
    completionId,
    stateKeys: { keys: keys.map((k) => Buffer.from(k, "utf8")) },
  });
}

export function getPromiseCompletion(completionId: number, result: InvocationResult): EncodedNotification {
  return notification(MessageType.GetPromiseCompletionNotification, pb.GetPromiseCompletionNotificationMessageSchema, {
    completionId,
    result: resultOneof(result),
  });
}

/** `result` null: the promise is not completed yet. */
export function peekPromiseCompletion(completionId: number, result: InvocationResult | null): EncodedNotification {
  return notification(MessageType.PeekPromiseCompletionNotification, pb.PeekPromiseCompletionNotificationMessageSchema, {
    completionId,
    result: result === null ? VOID : resultOneof(result),
  });
}

/** `failure` null: the promise was completed by this command. */
export function completePromiseCompletion(completionId: number, failure: { readonly code: number; readonly message: string } | null): EncodedNotification {
  return notification(MessageType.CompletePromiseCompletionNotification, pb.CompletePromiseCompletionNotificationMessageSchema, {
    completionId,
    result: failure === null ? VOID : { case: "failure", value: { code: failure.code, message: failure.message } },
  });
}

export function sleepCompletion(completionId: number): EncodedNotification {
  return notification(MessageType.SleepCompletionNotification, pb.SleepCompletionNotificationMessageSchema, { completionId, void: {} });
}

export function callInvocationIdCompletion(completionId: number, invocationId: string): EncodedNotification {
  return notification(MessageType.CallInvocationIdCompletionNotification, pb.CallInvocationIdCompletionNotificationMessageSchema, {
    completionId,
    invocationId,
  });
}

export function callCompletion(completionId: number, result: InvocationResult): EncodedNotification {
  return notification(MessageType.CallCompletionNotification, pb.CallCompletionNotificationMessageSchema, { completionId, result: resultOneof(result) });
}

export function runCompletion(completionId: number, result: InvocationResult): EncodedNotification {
  return notification(MessageType.RunCompletionNotification, pb.RunCompletionNotificationMessageSchema, { completionId, result: resultOneof(result) });
}

export function attachInvocationCompletion(completionId: number, result: InvocationResult): EncodedNotification {
  return notification(MessageType.AttachInvocationCompletionNotification, pb.AttachInvocationCompletionNotificationMessageSchema, {
    completionId,
    result: resultOneof(result),
  });
}

/** `result` null: the target has no result yet. */
export function getInvocationOutputCompletion(completionId: number, result: InvocationResult | null): EncodedNotification {
  return notification(MessageType.GetInvocationOutputCompletionNotification, pb.GetInvocationOutputCompletionNotificationMessageSchema, {
    completionId,
    result: result === null ? VOID : resultOneof(result),
  });
}

export function signalNotification(signal: SignalId, result: SignalResult): EncodedNotification {
  return notification(MessageType.SignalNotification, pb.SignalNotificationMessageSchema, {
    signalId: "idx" in signal ? { case: "idx", value: signal.idx } : { case: "name", value: signal.name },
    result: result.kind === "void" ? VOID : resultOneof(result),
  });
}
