import type { SchemaView } from "../schema/schema.ts";
import { parseInvocationId, type InvocationId } from "../types/ids.ts";
import {
  badAwakeablesPath,
  badInvocationId,
  badInvocationPath,
  badKeyEncoding,
  badPath,
  badRestateApiPath,
  badServicePath,
  badWorkflowPath,
  missingKey,
  notFound,
  serviceNotFound,
} from "./errors.ts";

/** Which invocation an attach, output or lookup names. */
export type InvocationQuery =
  | { readonly by: "id"; readonly id: InvocationId }
  | { readonly by: "idempotency-key"; readonly service: string; readonly key?: string; readonly handler: string; readonly idempotencyKey: string }
  | { readonly by: "workflow"; readonly name: string; readonly key: string };

export interface ServiceRequest {
  readonly service: string;
  /** Object or workflow key, percent-decoded; absent for plain services. */
  readonly key?: string;
  readonly handler: string;
  readonly send: boolean;
  /** From `/restate/scope/{scope}/...`. */
  readonly scope?: string;
}

/** What an ingress request asks for, from its path alone (methods are checked by each route). */
export type IngressRoute =
  | { readonly kind: "health" }
  | { readonly kind: "service"; readonly request: ServiceRequest }
  | { readonly kind: "awakeable"; readonly awakeableId: string; readonly action: "resolve" | "reject" }
  | { readonly kind: "attach" | "output"; readonly query: InvocationQuery }
  /** `POST /restate/attach|output|lookup`: the invocation is named in the JSON body. */
  | { readonly kind: "attach-by-target" | "output-by-target" | "lookup" };

/**
 * Restate trims slashes at both ends of the path before routing (`/Greeter/greet/` is
 * `/Greeter/greet`).
 */
export function normalizePath(pathname: string): string {
  return `/${pathname.replace(/^\/+|\/+$/g, "")}`;
}

/**
 * Parses a normalized path the way restate-server 1.7 does: service and handler names and
 * idempotency keys are taken as they are, object and workflow keys are percent-decoded.
 *
 * - `/{service}/{handler}[/send]`, `/{object}/{key}/{handler}[/send]` (the original API)
 * - `/restate/call|send/{service}[/{key}]/{handler}`, `/restate/scope/{scope}/call|send/...`
 * - `/restate/attach|output/{invocationId}`, `POST /restate/attach|output|lookup`
 * - `/restate/invocation/{invocationId}/attach|output`,
 *   `/restate/invocation/{service}[/{key}]/{handler}/{idempotencyKey}/attach|output`
 * - `/restate/workflow/{name}/{key}/attach|output`
 * - `/restate/awakeables|a/{id}/resolve|reject`, `/restate/health`
 */
export function parseRoute(path: string, schema: SchemaView): IngressRoute {
  const slashes = path.split("/").length - 1;
  // Two for /service/handler, seven for /restate/scope/{scope}/call/{object}/{key}/{handler}.
  if (slashes < 2 || slashes > 7) throw badPath(path);
  const segments = new Segments(path.split("/").slice(1));
  const first = segments.next()!;
  if (first === "openapi") throw notFound(); // Restate 1.7 reserves the route but does not serve it.
  if (first !== "restate") return { kind: "service", request: serviceRequest(first, segments, schema, badServicePath, true) };

  const verb = segments.next();
  switch (verb) {
    case "health":
      return { kind: "health" };
    case "awakeables":
    case "a": {
      const awakeableId = segments.required(badAwakeablesPath);
      const action = segments.required(badAwakeablesPath);
      if (action !== "resolve" && action !== "reject") throw notFound();
      return { kind: "awakeable", awakeableId, action };
    }
    case "invocation":
      return invocationRoute(segments, schema);
    case "workflow": {
      const name = segments.required(badWorkflowPath);
      const key = decodeKey(segments.required(badWorkflowPath));
      const action = segments.required(badWorkflowPath);
      if (action !== "attach" && action !== "output") throw notFound();
      return { kind: action, query: { by: "workflow", name, key } };
    }
    case "call":
    case "send":
      return { kind: "service", request: serviceRequest(segments.required(badRestateApiPath), segments, schema, badRestateApiPath, false, verb) };
    case "scope": {
      const scope = decodeKey(segments.required(badRestateApiPath));
      const inner = segments.required(badRestateApiPath);
      if (inner !== "call" && inner !== "send") throw badRestateApiPath();
      const request = serviceRequest(segments.required(badRestateApiPath), segments, schema, badRestateApiPath, false, inner);
      return { kind: "service", request: { ...request, scope } };
    }
    case "attach":
    case "output": {
      const id = segments.next();
      if (id === undefined) return { kind: verb === "attach" ? "attach-by-target" : "output-by-target" };
      segments.end(badRestateApiPath);
      return { kind: verb, query: { by: "id", id: invocationId(id) } };
    }
    case "lookup":
      segments.end(badRestateApiPath);
      return { kind: "lookup" };
    default:
      throw notFound();
  }
}

export function invocationId(text: string): InvocationId {
  try {
    return parseInvocationId(text);
  } catch (e) {
    throw badInvocationId((e as Error).message);
  }
}

/**
 * `{service}[/{key}]/{handler}` plus, on the original API only, an optional `/send`. Whether a key
 * comes first depends on the service's type, so an unknown service is a 404 right here.
 */
function serviceRequest(
  service: string,
  segments: Segments,
  schema: SchemaView,
  badShape: () => Error,
  sendSuffix: boolean,
  verb?: "call" | "send",
): ServiceRequest {
  const svc = schema.service(service);
  if (!svc) throw serviceNotFound(service);
  const key = svc.ty === "SERVICE" ? undefined : decodeKey(segments.required(badShape));
  const handler = segments.next();
  if (handler === undefined) {
    // `/Counter/add`: what was read as the key names a handler, so the key is what is missing.
    if (key !== undefined && svc.handlers.some((h) => h.name === key)) {
      throw missingKey(svc.ty === "WORKFLOW" ? "workflow" : "virtual object", `${verb === undefined ? "" : `/restate/${verb}`}/${service}/{key}/${key}`);
    }
    throw badShape();
  }
  let send = verb === "send";
  if (sendSuffix) {
    const last = segments.next();
    if (last !== undefined && last !== "send") throw badShape();
    send = last === "send";
  }
  segments.end(badShape);
  return { service, handler, send, ...(key !== undefined ? { key } : {}) };
}

/** `{invocationId}/attach|output` or `{service}[/{key}]/{handler}/{idempotencyKey}/attach|output`. */
function invocationRoute(segments: Segments, schema: SchemaView): IngressRoute {
  const first = segments.required(badInvocationPath);
  const second = segments.required(badInvocationPath);
  const third = segments.next();
  let action: string;
  let query: () => InvocationQuery;
  if (third === undefined) {
    action = second;
    query = () => ({ by: "id", id: invocationId(first) });
  } else {
    const svc = schema.service(first);
    if (!svc) throw serviceNotFound(first);
    const keyed = svc.ty !== "SERVICE";
    const key = keyed ? decodeKey(second) : undefined;
    const handler = keyed ? third : second;
    const idempotencyKey = keyed ? segments.required(badInvocationPath) : third;
    action = segments.required(badInvocationPath);
    query = () => ({ by: "idempotency-key", service: first, handler, idempotencyKey, ...(key !== undefined ? { key } : {}) });
  }
  if (action !== "attach" && action !== "output") throw notFound();
  return { kind: action, query: query() };
}

/** Percent-decoding as Restate's: `+` stays, a stray `%` stays, bytes must form UTF-8. */
function decodeKey(segment: string): string {
  if (!segment.includes("%")) return segment;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const hex = segment.slice(i + 1, i + 3);
    if (segment[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(segment[i], "utf8"));
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    throw badKeyEncoding(segment);
  }
}

class Segments {
  private i = 0;
  constructor(private readonly parts: readonly string[]) {}

  next(): string | undefined {
    return this.parts[this.i++];
  }

  required(missing: () => Error): string {
    const s = this.next();
    if (s === undefined) throw missing();
    return s;
  }

  end(extra: () => Error): void {
    if (this.i < this.parts.length) throw extra();
  }
}
