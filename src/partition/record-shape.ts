import type {
  AttachCommand,
  AttemptCommand,
  CalleeAssignment,
  Command,
  Envelope,
  InvocationResponse,
  InvokeRequest,
  KillCommand,
  OutboxMessage,
  SignalCommand,
} from "./record-types.ts";

/**
 * Shape checks for decoded records. msgpack decodes any bytes that happen to parse into some value,
 * and a record written by a newer Reprise may carry fields this one does not know; apply code must
 * see exactly the types it was written against, so a decoder checks every field before a record is
 * applied. The checks are hand-written (no schema library on the hot path) and the command table is
 * a mapped type over `Command["t"]`: adding a command without its check does not compile.
 */
export class ShapeError extends Error {}

/**
 * Where a check is, for the message; null on the first pass. Every record is checked once without
 * paths (no strings built per field, which cost more than the checks) and only one that does not fit
 * is checked again with them, to name the field.
 */
type Path = string | null;
type Check = (v: unknown, path: Path) => void;

/** Thrown on the first pass: the record does not fit, which field is found on the second. */
const MISFIT: unique symbol = Symbol("misfit");

const fail = (path: Path, expected: string, v: unknown): never => {
  if (path === null) throw MISFIT;
  throw new ShapeError(`${path}: expected ${expected}, found ${describe(v)}`);
};

const at = (path: Path, name: string | number): Path => (path === null ? null : typeof name === "number" ? `${path}[${name}]` : `${path}.${name}`);

function checkWithPaths(check: Check, v: unknown, root: string): void {
  try {
    check(v, null);
  } catch (e) {
    if (e !== MISFIT) throw e;
    check(v, root);
    throw new ShapeError(`${root}: does not fit`);
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

const str: Check = (v, p) => void (typeof v === "string" || fail(p, "string", v));
const int: Check = (v, p) => void (Number.isSafeInteger(v) || fail(p, "integer", v));
const num: Check = (v, p) => void (Number.isFinite(v) || fail(p, "number", v));
const bool: Check = (v, p) => void (typeof v === "boolean" || fail(p, "boolean", v));
const bytes: Check = (v, p) => void (v instanceof Uint8Array || fail(p, "bytes", v));
const oneOf =
  (...values: readonly string[]): Check =>
  (v, p) =>
    void (values.includes(v as string) || fail(p, values.join(" | "), v));
const opt =
  (check: Check): Check =>
  (v, p) =>
    v === undefined ? undefined : check(v, p);
const list =
  (check: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, "array", v);
    for (let i = 0; i < v.length; i++) check(v[i], at(p, i));
  };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const obj = (fields: Readonly<Record<string, Check>>): Check => {
  // Arrays walked by index: a for-in over the field table on every record cost more than the checks.
  const names = Object.keys(fields);
  const checks = names.map((name) => fields[name]);
  return (v, p) => {
    if (!isObject(v)) return fail(p, "object", v);
    for (let i = 0; i < names.length; i++) checks[i](v[names[i]], at(p, names[i]));
  };
};

/** An object whose variant is chosen by the value of `tag`. */
const tagged =
  (tag: string, variants: Readonly<Record<string, Check>>): Check =>
  (v, p) => {
    if (!isObject(v)) return fail(p, "object", v);
    const kind = v[tag];
    const check = typeof kind === "string" && Object.hasOwn(variants, kind) ? variants[kind] : undefined;
    if (!check) return fail(at(p, tag), Object.keys(variants).join(" | "), kind);
    check(v, p);
  };

const failure = { code: int, message: str };
const invocationResult = tagged("kind", { success: obj({ value: bytes }), failure: obj(failure) });
const targetFields = {
  service: str,
  handler: str,
  serviceType: oneOf("SERVICE", "VIRTUAL_OBJECT", "WORKFLOW"),
  handlerType: oneOf("EXCLUSIVE", "SHARED", "WORKFLOW"),
};
const target = obj({ ...targetFields, key: opt(str) });
const responseVia = oneOf("call", "attach", "output");
const responseSink = tagged("kind", {
  ingress: obj({ nodeId: int, requestId: opt(str) }),
  invocation: obj({ caller: str, completionId: int, via: opt(responseVia) }),
});
const traceContext = obj({ traceId: str, spanId: str, parentSpanId: opt(str) });
const pinnedDeployment = { deploymentId: str, protocolVersion: int };
const invokeRequest: Check = obj({
  id: str,
  target,
  argument: bytes,
  headers: list(obj({ key: str, value: str })),
  responseSink: opt(responseSink),
  idempotencyKey: opt(str),
  invokedBy: opt(str),
  executionTime: opt(num),
  randomSeed: str,
  completionRetentionMs: opt(num),
  journalRetentionMs: opt(num),
  traceContext: opt(traceContext),
} satisfies Record<keyof InvokeRequest, Check>);

const calleeError = obj({ error: obj(failure) });
const calleeAssigned = obj({
  invocationId: str,
  randomSeed: str,
  target: obj(targetFields),
  completionRetentionMs: opt(num),
  journalRetentionMs: opt(num),
  traceContext: opt(traceContext),
} satisfies Record<keyof Extract<CalleeAssignment, { invocationId: unknown }>, Check>);
const calleeAssignment: Check = (v, p) => (isObject(v) && "error" in v ? calleeError(v, p) : calleeAssigned(v, p));

const namedSignal = obj({ name: str });
const indexedSignal = obj({ idx: int });
const signalId: Check = (v, p) => (isObject(v) && "name" in v ? namedSignal(v, p) : indexedSignal(v, p));
const signalResult = tagged("kind", { void: obj({}), success: obj({ value: bytes }), failure: obj(failure) });
const awaiting = obj({ completions: list(int), signals: list(int), namedSignals: list(str) });

type Fields<C> = Record<Exclude<keyof C, "t">, Check>;

const invocationResponse = {
  target: str,
  completionId: int,
  result: invocationResult,
  via: opt(responseVia),
  notReady: opt(bool),
} satisfies Fields<InvocationResponse>;
const signal = { target: str, signal: signalId, result: signalResult } satisfies Fields<SignalCommand>;
const attach = { target: str, caller: str, completionId: int, via: oneOf("attach", "output") } satisfies Fields<AttachCommand>;
const invoke = { request: invokeRequest };
const kill = { id: str } satisfies Fields<KillCommand>;

const ATTEMPT_COMMANDS: { readonly [K in AttemptCommand["t"]]: Fields<Extract<AttemptCommand, { t: K }>> } = {
  "journal-command": { id: str, commandIndex: int, msgType: int, payload: bytes, callee: opt(calleeAssignment), pin: opt(obj(pinnedDeployment)) },
  "run-completion": { id: str, completionId: int, result: invocationResult },
  suspend: { id: str, commandCount: int, awaiting },
  end: { id: str, commandCount: int },
  "pin-deployment": { id: str, ...pinnedDeployment },
};
const attemptCommand = tagged("t", Object.fromEntries(Object.entries(ATTEMPT_COMMANDS).map(([t, fields]) => [t, obj(fields)])));

/** One check per command; the mapped type makes a missing command a compile error. */
const COMMANDS: { readonly [K in Command["t"]]: Fields<Extract<Command, { t: K }>> } = {
  "announce-leader": { epoch: int, nodeId: int },
  invoke,
  ...ATTEMPT_COMMANDS,
  "attempt-steps": { steps: list(attemptCommand) },
  fail: { id: str, code: int, message: str },
  "invocation-response": invocationResponse,
  "timer-fired": { key: str, fireAt: opt(num) },
  "outbox-shipped": { seq: int },
  signal,
  attach,
  cancel: { id: str },
  kill,
  purge: { id: str },
  "purge-journal": { id: str },
  "patch-state": { service: str, key: str, state: list(obj({ key: str, value: bytes })), version: opt(str) },
  pause: { id: str },
  resume: { id: str, deploymentId: opt(str) },
  "restart-as-new": { id: str, newId: str, from: int, randomSeed: str, deploymentId: opt(str), traceContext: opt(traceContext) },
};

const OUTBOX: { readonly [K in OutboxMessage["t"]]: Fields<Extract<OutboxMessage, { t: K }>> } = {
  invoke,
  "invocation-response": invocationResponse,
  signal,
  attach,
  kill,
};

const command = tagged("t", Object.fromEntries(Object.entries(COMMANDS).map(([t, fields]) => [t, obj(fields)])));
const outboxMessage = tagged("t", Object.fromEntries(Object.entries(OUTBOX).map(([t, fields]) => [t, obj(fields)])));
const envelope = obj({ header: obj({ ts: num, epoch: opt(int) }), command });

/** Throws `ShapeError` naming the first field that does not fit. */
export function checkEnvelope(v: unknown): asserts v is Envelope {
  checkWithPaths(envelope, v, "record");
}

/** Throws `ShapeError` naming the first field that does not fit. */
export function checkCommand(v: unknown): asserts v is Command {
  checkWithPaths(command, v, "command");
}

/** Throws `ShapeError` naming the first field that does not fit. */
export function checkOutboxMessage(v: unknown): asserts v is OutboxMessage {
  checkWithPaths(outboxMessage, v, "outbox message");
}
