import type { HandlerSchema } from "../schema/schema.ts";
import { BadRequestError } from "../types/errors.ts";
import { InputValidationError } from "./errors.ts";

/**
 * One way a request may satisfy a handler's input, as Restate derives them from the manifest:
 * an empty request (unless input is required), and a body of the declared content type (which
 * must not be empty when a JSON schema is declared). A request passes if one rule does; otherwise
 * the last rule's complaint is the answer.
 */
type InputRule = { readonly kind: "empty" } | { readonly kind: "content-type"; readonly accepts: string; readonly nonEmpty: boolean };

function inputRules(handler: HandlerSchema): InputRule[] {
  const rules: InputRule[] = [];
  if (!handler.inputRequired) rules.push({ kind: "empty" });
  if (handler.inputContentType !== undefined) {
    rules.push({ kind: "content-type", accepts: handler.inputContentType, nonEmpty: handler.inputJsonSchema !== undefined });
  }
  return rules;
}

/** Refuses (400) a request the handler cannot take, before anything is written to the log. */
export function validateInput(handler: HandlerSchema, contentType: string | undefined, body: Buffer): void {
  let problem = "Bad configuration of the input validation rules: the input is required but has no content type";
  for (const rule of inputRules(handler)) {
    const failure = check(rule, contentType, body);
    if (failure === null) {
      if (rule.kind === "content-type") checkJson(handler, contentType!, body);
      return;
    }
    problem = failure;
  }
  throw new InputValidationError(problem);
}

function check(rule: InputRule, contentType: string | undefined, body: Buffer): string | null {
  if (rule.kind === "empty") {
    return body.length === 0 && contentType === undefined
      ? null
      : `Expected body and content-type to be empty, but wasn't with content-type '${contentType ?? "none"}'`;
  }
  if (contentType === undefined) return "Empty content-type";
  if (!contentTypeMatches(rule.accepts, contentType)) return `Content-type '${contentType}' does not match '${rule.accepts}'`;
  if (rule.nonEmpty && body.length === 0) return "Empty body not allowed";
  return null;
}

/** `accepts` is `*\/*`, `type/*` or `type/subtype`; parameters after `;` are ignored; case-sensitive, as in Restate. */
function contentTypeMatches(accepts: string, contentType: string): boolean {
  const [wantType, wantSubtype] = mediaType(accepts);
  if (wantType === "*") return true;
  const [type, subtype] = mediaType(contentType);
  if (subtype === undefined || type !== wantType) return false;
  return wantSubtype === "*" || subtype === wantSubtype;
}

function mediaType(text: string): [string, string | undefined] {
  const essence = text.split(";")[0].trim();
  const slash = essence.indexOf("/");
  return slash < 0 ? [essence, undefined] : [essence.slice(0, slash), essence.slice(slash + 1)];
}

/**
 * Beyond Restate, which leaves it to the SDK (it then fails the invocation with 400): a body sent
 * as JSON to a JSON handler must parse, so a malformed one never becomes a durable invocation.
 */
function checkJson(handler: HandlerSchema, contentType: string, body: Buffer): void {
  if (body.length === 0 || !isJson(handler.inputContentType!) || !isJson(contentType)) return;
  try {
    JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new BadRequestError(`malformed JSON body for handler '${handler.name}': ${(e as Error).message}`, "malformed_json");
  }
}

function isJson(contentType: string): boolean {
  const [type, subtype] = mediaType(contentType);
  return type === "application" && subtype !== undefined && (subtype === "json" || subtype.endsWith("+json"));
}
