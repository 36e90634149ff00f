/**
 * `sys_journal` columns that need the entry decoded: the entry as JSON (`entry_json`, and
 * `entry_lite_json` without payloads), in the shape restate-server 1.7 writes (`{"Command":
 * {"Run": {...}}}`, snake_case fields, bytes as arrays, results as `{"Success": ...}`), and the
 * columns derived from an invocation's whole journal: `completed`, `invoked_id`, `invoked_target`,
 * `sleep_wakeup_at`, `promise_name`.
 */
import { fromBinary, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { isCommandType, isNotificationType, messageSchema, messageTypeName, MessageType } from "../../protocol/message-type.ts";

export interface JournalEntryView {
  readonly index: number;
  readonly type: number;
  readonly payload: Uint8Array;
}

export interface DerivedJournalColumns {
  readonly completed: boolean | null;
  readonly invoked_id: string | null;
  readonly invoked_target: string | null;
  readonly sleep_wakeup_at: number | null;
  readonly promise_name: string | null;
  readonly entry_json: string | null;
  readonly entry_lite_json: string | null;
}

/** Restate's names: `Command: Run`, `Notification: Sleep`, `Notification: Signal`. */
export function entryType(type: number): string {
  const name = messageTypeName(type);
  if (isCommandType(type)) return `Command: ${shortName(type)}`;
  if (isNotificationType(type)) return `Notification: ${shortName(type)}`;
  return name;
}

function shortName(type: number): string {
  return messageTypeName(type).replace(/Command$/, "").replace(/(Completion)?Notification$/, "");
}

type Decoded = Message & Record<string, unknown>;

function decode(e: JournalEntryView): Decoded | undefined {
  const schema = messageSchema(e.type);
  if (!schema) return undefined;
  try {
    return fromBinary(schema, e.payload) as Decoded;
  } catch {
    // A custom or damaged entry is still listed, with what the raw columns show.
    return undefined;
  }
}

/** The derived columns of every entry of one invocation's journal, in the order given. */
export function deriveJournal(entries: readonly JournalEntryView[], withJson: boolean): DerivedJournalColumns[] {
  const decoded = entries.map(decode);
  // Completion ids that have a notification, and the callee id each CallInvocationId notification names.
  const notified = new Set<number>();
  const calleeIds = new Map<number, string>();
  entries.forEach((e, i) => {
    const m = decoded[i];
    if (!m || !isNotificationType(e.type) || typeof m.completionId !== "number") return;
    notified.add(m.completionId);
    if (e.type === MessageType.CallInvocationIdCompletionNotification) calleeIds.set(m.completionId, String(m.invocationId));
  });
  return entries.map((e, i) => {
    const m = decoded[i];
    const json = withJson && m ? entryJson(e.type, m) : null;
    return {
      completed: m ? completedOf(m, notified) : null,
      invoked_id: m ? invokedId(e.type, m, calleeIds) : null,
      invoked_target: m ? invokedTarget(e.type, m) : null,
      sleep_wakeup_at: m && e.type === MessageType.SleepCommand ? Number(m.wakeUpTime as bigint) : null,
      promise_name: m && PROMISE_COMMANDS.has(e.type) ? String(m.key) : null,
      entry_json: json?.full ?? null,
      entry_lite_json: json?.lite ?? null,
    };
  });
}

const PROMISE_COMMANDS = new Set<number>([MessageType.GetPromiseCommand, MessageType.PeekPromiseCommand, MessageType.CompletePromiseCommand]);

/** A command that awaits completions is completed once all of them are journaled; other entries have no such state. */
function completedOf(m: Decoded, notified: ReadonlySet<number>): boolean | null {
  const ids = [m.resultCompletionId, m.invocationIdNotificationIdx].filter((v): v is number => typeof v === "number");
  return ids.length === 0 ? null : ids.every((id) => notified.has(id));
}

function invokedId(type: number, m: Decoded, calleeIds: ReadonlyMap<number, string>): string | null {
  if (type === MessageType.CallCommand || type === MessageType.OneWayCallCommand) return calleeIds.get(m.invocationIdNotificationIdx as number) ?? null;
  if (type === MessageType.AttachInvocationCommand || type === MessageType.GetInvocationOutputCommand) {
    const target = m.target as { case?: string; value?: unknown };
    return target.case === "invocationId" ? String(target.value) : null;
  }
  return null;
}

function invokedTarget(type: number, m: Decoded): string | null {
  if (type !== MessageType.CallCommand && type !== MessageType.OneWayCallCommand) return null;
  const key = m.key as string;
  return key === "" ? `${String(m.serviceName)}/${String(m.handlerName)}` : `${String(m.serviceName)}/${key}/${String(m.handlerName)}`;
}

/** Fields the lite form leaves out: payloads and headers. */
const HEAVY_FIELDS = new Set(["headers", "value", "parameter", "payload"]);

function entryJson(type: number, m: Decoded): { full: string; lite: string } | null {
  const schema = messageSchema(type);
  if (!schema) return null;
  const kind = isCommandType(type) ? "Command" : isNotificationType(type) ? "Notification" : undefined;
  const name = shortName(type);
  const full = messageJson(schema, m, false);
  if (kind === "Notification") {
    const id = typeof m.completionId === "number" ? { CompletionId: m.completionId } : signalId(m);
    return {
      full: JSON.stringify({ Notification: { Completion: { [name]: full } } }),
      lite: JSON.stringify({ Notification: { ty: { Completion: name }, id, result: resultCase(m) } }),
    };
  }
  const body = { [name]: full };
  const lite = { [name]: messageJson(schema, m, true) };
  return kind === undefined ? { full: JSON.stringify(body), lite: JSON.stringify(lite) } : { full: JSON.stringify({ [kind]: body }), lite: JSON.stringify({ [kind]: lite }) };
}

function signalId(m: Decoded): unknown {
  const id = m.signalId as { case?: string; value?: unknown } | undefined;
  return id?.case === "name" ? { SignalName: id.value } : { SignalIndex: id?.value ?? null };
}

function resultCase(m: Decoded): string | null {
  const result = m.result as { case?: string } | undefined;
  return result?.case ? pascal(result.case) : null;
}

/** A message as JSON: snake_case names, oneofs as `{"Case": value}`, bytes as arrays, 64-bit integers as numbers. */
function messageJson(desc: DescMessage, m: Message, lite: boolean): Record<string, unknown> {
  const values = m as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const member of desc.members) {
    const value = values[member.localName];
    if (member.kind === "oneof") {
      const one = value as { case?: string; value?: unknown };
      if (one.case === undefined) continue;
      const field = member.fields.find((f) => f.localName === one.case)!;
      const caseName = pascal(one.case);
      out[member.name] = lite || field.message?.typeName.endsWith(".Void") ? caseName : { [caseName]: fieldJson(field, one.value, lite) };
      continue;
    }
    if (lite && HEAVY_FIELDS.has(member.name)) continue;
    out[member.name] = fieldJson(member, value, lite);
  }
  return out;
}

function fieldJson(field: DescField, value: unknown, lite: boolean): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => scalarOrMessage(field, v, lite));
  return scalarOrMessage(field, value, lite);
}

function scalarOrMessage(field: DescField, value: unknown, lite: boolean): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (typeof value === "bigint") return Number(value);
  if (field.message && value && typeof value === "object") return messageJson(field.message, value as Message, lite);
  return value;
}

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
