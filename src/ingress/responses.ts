import type { ServerResponse } from "node:http";
import { sendError, sendJson } from "../common/http-util.ts";
import type { HandlerSchema } from "../schema/schema.ts";
import type { InvocationResult } from "../types/invocation.ts";

export const X_RESTATE_ID = "x-restate-id";
/**
 * `ingress` when Reprise refused or failed the request, `invocation` when the error is the
 * invocation's own terminal outcome: clients (the Restate SDK clients) retry only the former.
 */
const X_RESTATE_ERROR_SOURCE = "x-restate-error-source";

/** What is known of the invocation an outcome belongs to. */
export interface OutcomeMeta {
  readonly id: string;
  /** The handler that produced a success, for its output content type. */
  readonly handler?: HandlerSchema;
  /** When the stored result of an idempotent request or workflow run is purged (ms since epoch). */
  readonly expiresAt?: number;
}

/** A result of an invocation: the handler's bytes (200), or its terminal error with its own code. */
export function writeOutcome(res: ServerResponse, meta: OutcomeMeta, result: InvocationResult): void {
  if (res.writableEnded || res.destroyed) return;
  const headers: Record<string, string> = { [X_RESTATE_ID]: meta.id };
  if (meta.expiresAt !== undefined) headers["idempotency-expires"] = rfc3339(meta.expiresAt);
  if (result.kind === "failure") {
    headers[X_RESTATE_ERROR_SOURCE] = "invocation";
    sendJson(res, failureStatus(result.code), { code: result.code, message: result.message, source: "invocation" }, headers);
    return;
  }
  const contentType = meta.handler?.outputContentType;
  if (contentType !== undefined && (result.value.length > 0 || meta.handler?.outputSetContentTypeIfEmpty)) headers["content-type"] = contentType;
  res.writeHead(200, { ...headers, "content-length": result.value.length });
  res.end(Buffer.from(result.value));
}

/** An error of the ingress itself, as `{ code, message, source: "ingress" }`. */
export function writeIngressError(res: ServerResponse, e: unknown): void {
  if (!res.headersSent) res.setHeader(X_RESTATE_ERROR_SOURCE, "ingress");
  sendError(res, e, { source: "ingress" });
}

/** The error code is the HTTP status, as in Restate, when it can be one. */
function failureStatus(code: number): number {
  return Number.isInteger(code) && code >= 200 && code <= 999 ? code : 500;
}

/** As Restate prints it: `2026-01-31T12:00:00.250+00:00`, without a fraction on a whole second. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/(\.000)?Z$/, "+00:00");
}
