import type { Row } from "./api.ts";
import { toMs } from "./format.ts";

// The journal as a timeline: sys_journal rows, each command with the notification that completed
// it, and sys_journal_events (transient errors) at the place they happened.

/** What an entry's `entry_json` says, in the shape Restate writes: `{"Command": {"Run": {...}}}`. */
export interface ParsedEntry {
  readonly kind: string;
  readonly type: string;
  readonly body: Record<string, unknown>;
}

export type Outcome =
  | { readonly t: "value"; readonly text: string }
  | { readonly t: "failure"; readonly code?: number | string; readonly message: string }
  | { readonly t: "void"; readonly label: string };

export interface TimelineEntry {
  readonly row: Row;
  readonly index: number;
  /** `Command`, `Notification`, or what `entry_type` starts with. */
  readonly kind: string;
  /** `Run`, `Call`, `Sleep`...: `entry_type` without its kind. */
  readonly type: string;
  readonly name: string;
  readonly at: number | null;
  readonly parsed: ParsedEntry | null;
  /** The notification that completed this command, when the journal has it. */
  readonly completion?: TimelineEntry;
  readonly outcome?: Outcome;
  /** Transient errors reported after this entry. */
  readonly events: readonly JournalEvent[];
}

export interface JournalEvent {
  readonly at: number | null;
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly json: Record<string, unknown>;
}

export function parseEntryJson(text: unknown): ParsedEntry | null {
  if (typeof text !== "string" || text === "") return null;
  try {
    const outer = JSON.parse(text) as Record<string, unknown>;
    const [kind, inner] = Object.entries(outer)[0] ?? [];
    if (kind === undefined || inner === null || typeof inner !== "object") return null;
    // Notifications nest once more: {"Notification": {"Completion": {"Run": {...}}}}.
    let level = inner as Record<string, unknown>;
    let [type, body] = Object.entries(level)[0] ?? [];
    if (kind === "Notification" && (type === "Completion" || type === "Signal") && body && typeof body === "object") {
      level = body as Record<string, unknown>;
      [type, body] = Object.entries(level)[0] ?? [];
    }
    if (type === undefined) return null;
    return { kind, type, body: body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {} };
  } catch {
    return null;
  }
}

const isBytes = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);

/** Bytes (an array of numbers, or `{content: [...]}`) as text; other values as JSON with their bytes as text. */
export function valueText(v: unknown): string {
  if (isBytes(v)) return decodeUtf8(v);
  if (Array.isArray(v) && v.length === 0) return "";
  if (v !== null && typeof v === "object" && "content" in v && Object.keys(v).length === 1) return valueText((v as { content: unknown }).content);
  if (typeof v === "string") return v;
  return JSON.stringify(humanize(v), null, 2);
}

function decodeUtf8(bytes: number[]): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
  }
}

/** The value with byte arrays replaced by their text, for showing an entry's details. */
export function humanize(v: unknown): unknown {
  if (isBytes(v)) return decodeUtf8(v);
  if (Array.isArray(v)) return v.map(humanize);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, humanize(x)]));
  return v;
}

/** A `result` field: `{"Success": bytes}`, `{"Value": ...}`, `{"Failure": {code, message}}`, or a bare case like `"Void"`. */
export function outcomeOf(result: unknown): Outcome | undefined {
  if (result === undefined || result === null) return undefined;
  if (typeof result === "string") return { t: "void", label: result };
  if (typeof result !== "object") return undefined;
  const [k, v] = Object.entries(result as Record<string, unknown>)[0] ?? [];
  if (k === undefined) return undefined;
  if (/fail/i.test(k)) {
    const f = (v ?? {}) as { code?: number | string; message?: unknown };
    return { t: "failure", ...(f.code !== undefined ? { code: f.code } : {}), message: typeof f.message === "string" ? f.message : valueText(v) };
  }
  if (/void/i.test(k)) return { t: "void", label: k };
  const text = valueText(v);
  return text === "" ? { t: "void", label: "empty value" } : { t: "value", text };
}

const COMPLETION_ID_FIELDS = ["completion_id", "result_completion_id"];

function splitType(entryType: string): { kind: string; type: string } {
  const m = /^(\w+):\s*(.*)$/.exec(entryType);
  return m ? { kind: m[1]!, type: m[2]! } : { kind: "", type: entryType };
}

/** The commands of the journal, each with its completing notification; notifications nobody claims stay on their own. */
export function buildTimeline(journal: readonly Row[], events: readonly Row[]): TimelineEntry[] {
  const base = journal.map((row) => {
    const { kind, type } = splitType(String(row.entry_type ?? ""));
    const parsed = parseEntryJson(row.entry_json);
    return { row, index: Number(row.index), kind: parsed?.kind ?? kind, type: parsed?.type ?? type, name: String(row.name ?? parsed?.body.name ?? ""), at: toMs(row.appended_at), parsed };
  });
  const byCompletionId = new Map<number, (typeof base)[number]>();
  for (const e of base) {
    const id = e.parsed?.body.completion_id;
    if (e.kind === "Notification" && typeof id === "number") byCompletionId.set(id, e);
  }
  const claimed = new Set<number>();
  const eventsAfter = new Map<number, JournalEvent[]>();
  for (const r of events) {
    const after = Number(r.after_journal_entry_index ?? -1);
    eventsAfter.set(after, [...(eventsAfter.get(after) ?? []), journalEvent(r)]);
  }
  const withCompletion = base.map((e) => {
    let completion: (typeof base)[number] | undefined;
    if (e.kind === "Command" && e.parsed) {
      for (const field of COMPLETION_ID_FIELDS) {
        const id = e.parsed.body[field];
        if (typeof id === "number" && byCompletionId.has(id)) completion = byCompletionId.get(id);
      }
    }
    if (completion) claimed.add(completion.index);
    const outcome = outcomeOf(completion?.parsed?.body.result ?? e.parsed?.body.result);
    return { ...e, ...(completion ? { completion: { ...completion, events: [] } } : {}), ...(outcome ? { outcome } : {}) };
  });
  return withCompletion
    .filter((e) => !claimed.has(e.index))
    .map((e) => {
      // Events after a claimed notification belong to the command it completed.
      const own = [e.index, ...(e.completion ? [e.completion.index] : [])].flatMap((i) => eventsAfter.get(i) ?? []);
      return { ...e, events: own };
    });
}

function journalEvent(r: Row): JournalEvent {
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(String(r.event_json ?? "{}")) as Record<string, unknown>;
  } catch {
    // An event without readable JSON still shows its type and time.
  }
  const code = json.restate_doc_error_code ?? json.error_code;
  return {
    at: toMs(r.appended_at),
    type: String(r.event_type ?? json.ty ?? "event"),
    message: String(json.error_message ?? json.message ?? r.event_json ?? ""),
    ...(code !== undefined ? { code: String(code) } : {}),
    json,
  };
}

/** What a command did, beyond its result, in a line: the callee, the state key, the wake-up time... */
export function summary(e: TimelineEntry): string {
  const b = e.parsed?.body ?? {};
  const r = e.row;
  if (r.invoked_target) return `→ ${String(r.invoked_target)}`;
  const request = b.request as Record<string, unknown> | undefined;
  if (request?.invocation_target) return `→ ${targetText(request.invocation_target)}`;
  if (b.invocation_target) return `→ ${targetText(b.invocation_target)}`;
  if (r.promise_name) return `promise ${String(r.promise_name)}`;
  if (typeof b.key === "string" || isBytes(b.key)) return `key ${valueText(b.key)}`;
  const wake = toMs(r.sleep_wakeup_at) ?? (typeof b.wake_up_time === "number" ? b.wake_up_time : null);
  if (wake !== null) return `until ${new Date(wake).toISOString()}`;
  return "";
}

function targetText(t: unknown): string {
  if (t === null || typeof t !== "object") return String(t);
  const [, v] = Object.entries(t as Record<string, unknown>)[0] ?? [];
  const x = (v ?? {}) as { name?: string; key?: string; handler?: string };
  return [x.name, x.key, x.handler].filter((p) => p !== undefined && p !== null).join("/");
}

/** What a command carried in, when it is worth showing: an input's payload, a call's parameter, a state value. */
export function inputOf(e: TimelineEntry): string | undefined {
  const b = e.parsed?.body;
  if (!b) return undefined;
  const request = b.request as Record<string, unknown> | undefined;
  const v = b.payload ?? b.parameter ?? request?.parameter ?? b.value;
  if (v === undefined || v === null) return undefined;
  const text = valueText(v);
  return text === "" ? undefined : text;
}
