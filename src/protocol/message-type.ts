import type { DescMessage } from "@bufbuild/protobuf";
import * as pb from "./gen/dev/restate/service/protocol_pb.ts";
import { UnknownMessageTypeError } from "./errors.ts";

/** 16-bit frame type ids of the service protocol (V5–V7). */
export const MessageType = {
  Start: 0x0000,
  Suspension: 0x0001,
  Error: 0x0002,
  End: 0x0003,
  ProposeRunCompletion: 0x0005,
  AwaitingOn: 0x0006,
  ProposeRunCompletionAck: 0x0007,
  InputCommand: 0x0400,
  OutputCommand: 0x0401,
  GetLazyStateCommand: 0x0402,
  GetLazyStateCompletionNotification: 0x8002,
  SetStateCommand: 0x0403,
  ClearStateCommand: 0x0404,
  ClearAllStateCommand: 0x0405,
  GetLazyStateKeysCommand: 0x0406,
  GetLazyStateKeysCompletionNotification: 0x8006,
  GetEagerStateCommand: 0x0407,
  GetEagerStateKeysCommand: 0x0408,
  GetPromiseCommand: 0x0409,
  GetPromiseCompletionNotification: 0x8009,
  PeekPromiseCommand: 0x040a,
  PeekPromiseCompletionNotification: 0x800a,
  CompletePromiseCommand: 0x040b,
  CompletePromiseCompletionNotification: 0x800b,
  SleepCommand: 0x040c,
  SleepCompletionNotification: 0x800c,
  CallCommand: 0x040d,
  CallCompletionNotification: 0x800d,
  CallInvocationIdCompletionNotification: 0x800e,
  OneWayCallCommand: 0x040e,
  SendSignalCommand: 0x0410,
  RunCommand: 0x0411,
  RunCompletionNotification: 0x8011,
  AttachInvocationCommand: 0x0412,
  AttachInvocationCompletionNotification: 0x8012,
  GetInvocationOutputCommand: 0x0413,
  GetInvocationOutputCompletionNotification: 0x8013,
  CompleteAwakeableCommand: 0x0414,
  SignalNotification: 0xfbff,
} as const;

export type MessageTypeName = keyof typeof MessageType;
/** A known (non-custom) type id. */
export type KnownMessageType = (typeof MessageType)[MessageTypeName];

export type MessageKind = "control" | "command" | "notification" | "custom";

// Id ranges as the SDK classifies them: commands [0x0400, 0x8000), notifications [0x8000, 0xFC00),
// custom entries have all six top bits set (0xFC00 mask) and are carried as opaque bytes.
const COMMAND_MIN = 0x0400;
const NOTIFICATION_MIN = 0x8000;
const CUSTOM_MASK = 0xfc00;

const SCHEMAS: ReadonlyMap<number, DescMessage> = new Map<number, DescMessage>([
  [MessageType.Start, pb.StartMessageSchema],
  [MessageType.Suspension, pb.SuspensionMessageSchema],
  [MessageType.Error, pb.ErrorMessageSchema],
  [MessageType.End, pb.EndMessageSchema],
  [MessageType.ProposeRunCompletion, pb.ProposeRunCompletionMessageSchema],
  [MessageType.AwaitingOn, pb.AwaitingOnMessageSchema],
  [MessageType.ProposeRunCompletionAck, pb.ProposeRunCompletionAckMessageSchema],
  [MessageType.InputCommand, pb.InputCommandMessageSchema],
  [MessageType.OutputCommand, pb.OutputCommandMessageSchema],
  [MessageType.GetLazyStateCommand, pb.GetLazyStateCommandMessageSchema],
  [MessageType.GetLazyStateCompletionNotification, pb.GetLazyStateCompletionNotificationMessageSchema],
  [MessageType.SetStateCommand, pb.SetStateCommandMessageSchema],
  [MessageType.ClearStateCommand, pb.ClearStateCommandMessageSchema],
  [MessageType.ClearAllStateCommand, pb.ClearAllStateCommandMessageSchema],
  [MessageType.GetLazyStateKeysCommand, pb.GetLazyStateKeysCommandMessageSchema],
  [MessageType.GetLazyStateKeysCompletionNotification, pb.GetLazyStateKeysCompletionNotificationMessageSchema],
  [MessageType.GetEagerStateCommand, pb.GetEagerStateCommandMessageSchema],
  [MessageType.GetEagerStateKeysCommand, pb.GetEagerStateKeysCommandMessageSchema],
  [MessageType.GetPromiseCommand, pb.GetPromiseCommandMessageSchema],
  [MessageType.GetPromiseCompletionNotification, pb.GetPromiseCompletionNotificationMessageSchema],
  [MessageType.PeekPromiseCommand, pb.PeekPromiseCommandMessageSchema],
  [MessageType.PeekPromiseCompletionNotification, pb.PeekPromiseCompletionNotificationMessageSchema],
  [MessageType.CompletePromiseCommand, pb.CompletePromiseCommandMessageSchema],
  [MessageType.CompletePromiseCompletionNotification, pb.CompletePromiseCompletionNotificationMessageSchema],
  [MessageType.SleepCommand, pb.SleepCommandMessageSchema],
  [MessageType.SleepCompletionNotification, pb.SleepCompletionNotificationMessageSchema],
  [MessageType.CallCommand, pb.CallCommandMessageSchema],
  [MessageType.CallCompletionNotification, pb.CallCompletionNotificationMessageSchema],
  [MessageType.CallInvocationIdCompletionNotification, pb.CallInvocationIdCompletionNotificationMessageSchema],
  [MessageType.OneWayCallCommand, pb.OneWayCallCommandMessageSchema],
  [MessageType.SendSignalCommand, pb.SendSignalCommandMessageSchema],
  [MessageType.RunCommand, pb.RunCommandMessageSchema],
  [MessageType.RunCompletionNotification, pb.RunCompletionNotificationMessageSchema],
  [MessageType.AttachInvocationCommand, pb.AttachInvocationCommandMessageSchema],
  [MessageType.AttachInvocationCompletionNotification, pb.AttachInvocationCompletionNotificationMessageSchema],
  [MessageType.GetInvocationOutputCommand, pb.GetInvocationOutputCommandMessageSchema],
  [MessageType.GetInvocationOutputCompletionNotification, pb.GetInvocationOutputCompletionNotificationMessageSchema],
  [MessageType.CompleteAwakeableCommand, pb.CompleteAwakeableCommandMessageSchema],
  [MessageType.SignalNotification, pb.SignalNotificationMessageSchema],
]);

const NAMES: ReadonlyMap<number, MessageTypeName> = new Map(
  (Object.entries(MessageType) as [MessageTypeName, number][]).map(([name, id]) => [id, name]),
);

const IDS_BY_TYPE_NAME: ReadonlyMap<string, KnownMessageType> = new Map(
  [...SCHEMAS].map(([id, schema]) => [schema.typeName, id as KnownMessageType]),
);

export function isCustomType(type: number): boolean {
  return (type & CUSTOM_MASK) === CUSTOM_MASK;
}

export function isKnownType(type: number): type is KnownMessageType {
  return SCHEMAS.has(type);
}

/** Known commands only; custom entries are journaled too but are not commands. */
export function isCommandType(type: number): boolean {
  return isKnownType(type) && type >= COMMAND_MIN && type < NOTIFICATION_MIN;
}

export function isNotificationType(type: number): boolean {
  return isKnownType(type) && type >= NOTIFICATION_MIN && !isCustomType(type);
}

export function isControlType(type: number): boolean {
  return isKnownType(type) && type < COMMAND_MIN;
}

/** Throws `UnknownMessageTypeError` for ids outside the table that are not custom entries. */
export function messageKind(type: number): MessageKind {
  if (isCustomType(type)) return "custom";
  if (!isKnownType(type)) throw new UnknownMessageTypeError(type);
  if (type < COMMAND_MIN) return "control";
  return type < NOTIFICATION_MIN ? "command" : "notification";
}

/** Generated schema for a known type id; undefined for custom or unknown ids. */
export function messageSchema(type: number): DescMessage | undefined {
  return SCHEMAS.get(type);
}

/** Generated schema when `type` is a command id, else undefined. */
export function commandSchema(type: number): DescMessage | undefined {
  return isCommandType(type) ? SCHEMAS.get(type) : undefined;
}

/** Type id of a generated schema (inverse of `messageSchema`). */
export function messageTypeOf(schema: DescMessage): KnownMessageType {
  const id = IDS_BY_TYPE_NAME.get(schema.typeName);
  // A caller bug (e.g. passing StateKeysSchema), not something a peer can cause.
  if (id === undefined) throw new TypeError(`${schema.typeName} has no service protocol frame type`);
  return id;
}

/** Readable name for logs and errors, e.g. `CallCommand` or `Custom(0xfc01)`. */
export function messageTypeName(type: number): string {
  return NAMES.get(type) ?? (isCustomType(type) ? `Custom(0x${hex(type)})` : `Unknown(0x${hex(type)})`);
}

function hex(type: number): string {
  return type.toString(16).padStart(4, "0");
}
