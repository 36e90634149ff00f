import { RepriseError } from "../types/errors.ts";

/**
 * Typed endpoint manifest (discovery versions v2–v4) and its validation. Durations are in
 * milliseconds, as on the wire. Fields this version does not know are ignored, so newer SDKs
 * that add optional fields still register.
 */

export type ProtocolMode = "BIDI_STREAM" | "REQUEST_RESPONSE";
export type ServiceType = "SERVICE" | "VIRTUAL_OBJECT" | "WORKFLOW";
export type HandlerType = "EXCLUSIVE" | "SHARED" | "WORKFLOW";
export type RetryPolicyOnMaxAttempts = "PAUSE" | "KILL";

export interface InputPayload {
  /** A body (with content-type) must be sent, even if empty. */
  readonly required?: boolean;
  /** Accepted content type, wildcards allowed; unset means no body is expected. */
  readonly contentType?: string;
  readonly jsonSchema?: unknown;
}

export interface OutputPayload {
  readonly contentType?: string;
  readonly setContentTypeIfEmpty?: boolean;
  readonly jsonSchema?: unknown;
}

/** Options a service sets for all its handlers and a handler may override. */
export interface InvocationOptions {
  readonly documentation?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly inactivityTimeout?: number;
  readonly abortTimeout?: number;
  readonly journalRetention?: number;
  readonly idempotencyRetention?: number;
  readonly enableLazyState?: boolean;
  readonly ingressPrivate?: boolean;
  readonly retryPolicyInitialInterval?: number;
  readonly retryPolicyMaxInterval?: number;
  readonly retryPolicyMaxAttempts?: number;
  readonly retryPolicyExponentiationFactor?: number;
  readonly retryPolicyOnMaxAttempts?: RetryPolicyOnMaxAttempts;
}

export interface HandlerManifest extends InvocationOptions {
  readonly name: string;
  /** Unset: EXCLUSIVE in a virtual object, SHARED in a workflow, irrelevant in a service. */
  readonly ty?: HandlerType;
  readonly input?: InputPayload;
  readonly output?: OutputPayload;
  /** Only on the WORKFLOW handler. */
  readonly workflowCompletionRetention?: number;
}

export interface ServiceManifest extends InvocationOptions {
  readonly name: string;
  readonly ty: ServiceType;
  readonly handlers: readonly HandlerManifest[];
}

export interface EndpointManifest {
  readonly protocolMode: ProtocolMode;
  readonly minProtocolVersion: number;
  readonly maxProtocolVersion: number;
  /** Only meaningful for Lambda endpoints. */
  readonly lambdaCompression?: "zstd";
  readonly services: readonly ServiceManifest[];
}

/** The manifest is well-formed JSON but not a valid endpoint manifest; `path` points at the offending field. */
export class ManifestValidationError extends RepriseError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super("invalid_manifest", `${path}: ${problem}`, false, 400);
  }
}

const SERVICE_NAME = /^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9._-]*$/;
const HANDLER_NAME = /^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9_]*$/;
const MAX_PROTOCOL_VERSION_VALUE = 2_147_483_647;

/** Validates a parsed discovery response body and returns it typed, keeping only known fields. */
export function parseEndpointManifest(json: unknown): EndpointManifest {
  const root = object(json, "manifest");
  const minProtocolVersion = integer(root.minProtocolVersion, "minProtocolVersion", 1, MAX_PROTOCOL_VERSION_VALUE, true);
  const maxProtocolVersion = integer(root.maxProtocolVersion, "maxProtocolVersion", 1, MAX_PROTOCOL_VERSION_VALUE, true);
  if (minProtocolVersion > maxProtocolVersion) {
    throw new ManifestValidationError("minProtocolVersion", `${minProtocolVersion} is greater than maxProtocolVersion ${maxProtocolVersion}`);
  }
  // Optional in the JSON schema, but the runtime cannot pick a transport mode without it.
  const protocolMode = oneOf(root.protocolMode, "protocolMode", ["BIDI_STREAM", "REQUEST_RESPONSE"] as const, true);
  const lambdaCompression = oneOf(root.lambdaCompression, "lambdaCompression", ["zstd"] as const);
  const services = array(root.services, "services").map((s, i) => parseService(s, `services[${i}]`));
  unique(services, "services", "service");
  return { protocolMode, minProtocolVersion, maxProtocolVersion, services, ...def("lambdaCompression", lambdaCompression) };
}

function parseService(json: unknown, path: string): ServiceManifest {
  const o = object(json, path);
  const name = str(o.name, `${path}.name`, true);
  if (!SERVICE_NAME.test(name)) throw new ManifestValidationError(`${path}.name`, `${JSON.stringify(name)} is not a valid service name`);
  const ty = oneOf(o.ty, `${path}.ty`, ["SERVICE", "VIRTUAL_OBJECT", "WORKFLOW"] as const, true);
  const handlers = array(o.handlers, `${path}.handlers`).map((h, i) => parseHandler(h, `${path}.handlers[${i}]`, ty));
  unique(handlers, `${path}.handlers`, "handler");
  return { name, ty, handlers, ...invocationOptions(o, path) };
}

function parseHandler(json: unknown, path: string, serviceTy: ServiceType): HandlerManifest {
  const o = object(json, path);
  const name = str(o.name, `${path}.name`, true);
  if (!HANDLER_NAME.test(name)) throw new ManifestValidationError(`${path}.name`, `${JSON.stringify(name)} is not a valid handler name`);
  const ty = oneOf(o.ty, `${path}.ty`, ["EXCLUSIVE", "SHARED", "WORKFLOW"] as const);
  // Same combinations the Restate runtime accepts.
  const allowed: Record<ServiceType, readonly HandlerType[]> = {
    SERVICE: ["SHARED"],
    VIRTUAL_OBJECT: ["EXCLUSIVE", "SHARED"],
    WORKFLOW: ["WORKFLOW", "SHARED"],
  };
  if (ty !== undefined && !allowed[serviceTy].includes(ty)) {
    throw new ManifestValidationError(`${path}.ty`, `handler type ${ty} is not allowed in a ${serviceTy}`);
  }
  const workflowCompletionRetention = nonNegative(o.workflowCompletionRetention, `${path}.workflowCompletionRetention`);
  if (workflowCompletionRetention !== undefined && ty !== "WORKFLOW") {
    throw new ManifestValidationError(`${path}.workflowCompletionRetention`, "only the WORKFLOW handler of a workflow may set it");
  }
  const options = invocationOptions(o, path);
  if (options.idempotencyRetention !== undefined && ty === "WORKFLOW") {
    throw new ManifestValidationError(`${path}.idempotencyRetention`, "a WORKFLOW handler uses workflowCompletionRetention instead");
  }
  return {
    name,
    ...def("ty", ty),
    ...def("input", o.input === undefined ? undefined : parseInput(o.input, `${path}.input`)),
    ...def("output", o.output === undefined ? undefined : parseOutput(o.output, `${path}.output`)),
    ...def("workflowCompletionRetention", workflowCompletionRetention),
    ...options,
  };
}

function parseInput(json: unknown, path: string): InputPayload {
  const o = object(json, path);
  return {
    ...def("required", bool(o.required, `${path}.required`)),
    ...def("contentType", acceptedContentType(o.contentType, `${path}.contentType`)),
    ...def("jsonSchema", o.jsonSchema),
  };
}

function parseOutput(json: unknown, path: string): OutputPayload {
  const o = object(json, path);
  return {
    ...def("contentType", headerValue(o.contentType, `${path}.contentType`)),
    ...def("setContentTypeIfEmpty", bool(o.setContentTypeIfEmpty, `${path}.setContentTypeIfEmpty`)),
    ...def("jsonSchema", o.jsonSchema),
  };
}

function invocationOptions(o: Record<string, unknown>, path: string): InvocationOptions {
  const factor = o.retryPolicyExponentiationFactor;
  if (factor !== undefined && (typeof factor !== "number" || !Number.isFinite(factor) || factor <= 0)) {
    throw new ManifestValidationError(`${path}.retryPolicyExponentiationFactor`, `must be a positive number (got ${show(factor)})`);
  }
  return {
    ...def("documentation", str(o.documentation, `${path}.documentation`)),
    ...def("metadata", metadata(o.metadata, `${path}.metadata`)),
    ...def("inactivityTimeout", nonNegative(o.inactivityTimeout, `${path}.inactivityTimeout`)),
    ...def("abortTimeout", nonNegative(o.abortTimeout, `${path}.abortTimeout`)),
    ...def("journalRetention", nonNegative(o.journalRetention, `${path}.journalRetention`)),
    ...def("idempotencyRetention", nonNegative(o.idempotencyRetention, `${path}.idempotencyRetention`)),
    ...def("enableLazyState", bool(o.enableLazyState, `${path}.enableLazyState`)),
    ...def("ingressPrivate", bool(o.ingressPrivate, `${path}.ingressPrivate`)),
    ...def("retryPolicyInitialInterval", nonNegative(o.retryPolicyInitialInterval, `${path}.retryPolicyInitialInterval`)),
    ...def("retryPolicyMaxInterval", nonNegative(o.retryPolicyMaxInterval, `${path}.retryPolicyMaxInterval`)),
    ...def("retryPolicyMaxAttempts", nonNegative(o.retryPolicyMaxAttempts, `${path}.retryPolicyMaxAttempts`)),
    ...def("retryPolicyExponentiationFactor", factor as number | undefined),
    ...def("retryPolicyOnMaxAttempts", oneOf(o.retryPolicyOnMaxAttempts, `${path}.retryPolicyOnMaxAttempts`, ["PAUSE", "KILL"] as const)),
  };
}

// --- field checkers: `required` makes undefined an error, otherwise undefined passes through.

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ManifestValidationError(path, `must be an object (got ${show(v)})`);
  return v as Record<string, unknown>;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ManifestValidationError(path, `must be an array (got ${show(v)})`);
  return v;
}

function str(v: unknown, path: string, required: true): string;
function str(v: unknown, path: string): string | undefined;
function str(v: unknown, path: string, required = false): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string") throw new ManifestValidationError(path, `must be a string (got ${show(v)})`);
  return v;
}

/** A content type the ingress matches requests against: `type/subtype`, `type/*` or `*\/*`. */
function acceptedContentType(v: unknown, path: string): string | undefined {
  const text = str(v, path);
  if (text === undefined) return undefined;
  const [type, subtype, ...rest] = text.split(";")[0].trim().split("/");
  if (subtype === undefined || rest.length > 0 || type === "" || subtype === "") {
    throw new ManifestValidationError(path, `${show(text)} is not a content type: it must contain one /`);
  }
  if (type === "*" && subtype !== "*") throw new ManifestValidationError(path, `${show(text)}: the wildcard form */subtype is not supported`);
  return text;
}

/** Sent as the response's content-type header, so visible ASCII only. */
function headerValue(v: unknown, path: string): string | undefined {
  const text = str(v, path);
  if (text !== undefined && !/^[\t\x20-\x7e]*$/.test(text)) throw new ManifestValidationError(path, `${show(text)} is not a valid header value`);
  return text;
}

function bool(v: unknown, path: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new ManifestValidationError(path, `must be a boolean (got ${show(v)})`);
  return v;
}

function integer(v: unknown, path: string, min: number, max: number, required: true): number;
function integer(v: unknown, path: string, min: number, max: number): number | undefined;
function integer(v: unknown, path: string, min: number, max: number, required = false): number | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ManifestValidationError(path, `must be an integer in [${min}, ${max}] (got ${show(v)})`);
  }
  return v;
}

/** Milliseconds or a count: a non-negative safe integer. */
function nonNegative(v: unknown, path: string): number | undefined {
  return integer(v, path, 0, Number.MAX_SAFE_INTEGER);
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[], required: true): T;
function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T | undefined;
function oneOf<T extends string>(v: unknown, path: string, values: readonly T[], required = false): T | undefined {
  if (v === undefined && !required) return undefined;
  if (!values.includes(v as T)) throw new ManifestValidationError(path, `must be one of ${values.join(", ")} (got ${show(v)})`);
  return v as T;
}

function metadata(v: unknown, path: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  const o = object(v, path);
  for (const [k, x] of Object.entries(o)) if (typeof x !== "string") throw new ManifestValidationError(`${path}.${k}`, `must be a string (got ${show(x)})`);
  return { ...(o as Record<string, string>) };
}

function unique(items: readonly { name: string }[], path: string, what: string): void {
  const seen = new Set<string>();
  for (const { name } of items) {
    if (seen.has(name)) throw new ManifestValidationError(path, `${what} ${JSON.stringify(name)} is declared twice`);
    seen.add(name);
  }
}

/** `{ key: value }` when defined, `{}` otherwise, so optional fields stay absent rather than undefined. */
function def<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
