import { BadRequestError, NotFoundError, RepriseError } from "../types/errors.ts";

/**
 * The ingress's own refusals, with the status codes and messages restate-server 1.7 answers, so
 * clients written against Restate see the same thing. None is retryable as is.
 */

export class MethodNotAllowedError extends RepriseError {
  constructor(allowed: string) {
    super("method_not_allowed", `method not allowed, use ${allowed}`, false, 405);
  }
}

/** `/output` of an invocation that is still running: Restate's own 470 status. */
export class NotReadyError extends RepriseError {
  constructor() {
    super("not_ready", "the invocation exists but has not completed yet", false, 470);
  }
}

/** The request body or content type does not fit what the handler declared as its input. */
export class InputValidationError extends BadRequestError {
  constructor(detail: string) {
    super(`input validation error: ${detail}`, "input_validation");
  }
}

export const notFound = (): NotFoundError => new NotFoundError("not found");

export const invocationNotFound = (): NotFoundError => new NotFoundError("invocation not found", "invocation_not_found");

export const serviceNotFound = (service: string): NotFoundError =>
  new NotFoundError(`service '${service}' not found, make sure to register the service before calling it.`, "service_not_found");

export const badPath = (path: string): BadRequestError => new BadRequestError(`bad path: ${path}`, "bad_path");

export const badServicePath = (): BadRequestError =>
  new BadRequestError("bad path, expected either /:service-name/:handler or /:object-name/:object-key/:handler", "bad_service_path");

export const badAwakeablesPath = (): BadRequestError =>
  new BadRequestError("bad path, expected either /restate/awakeables/:id/resolve or /restate/awakeables/:id/reject", "bad_awakeables_path");

export const badInvocationPath = (): BadRequestError =>
  new BadRequestError(
    "bad path, expected either /restate/invocation/:invocation_id/output or /restate/invocation/:invocation_id/attach or /restate/invocation/:invocation_target/:idempotency_key/output or /restate/invocation/:invocation_target/:idempotency_key/attach",
    "bad_invocation_path",
  );

export const badWorkflowPath = (): BadRequestError =>
  new BadRequestError(
    "bad path, expected either /restate/workflow/:workflow_name/:workflow_key/output or /restate/workflow/:workflow_name/:workflow_key/attach",
    "bad_workflow_path",
  );

export const badRestateApiPath = (): BadRequestError =>
  new BadRequestError(
    "bad path, expected /restate/call/:service/:handler, /restate/send/:service/:handler, /restate/scope/:scope/call/:service/:handler, /restate/attach/:invocation_id, /restate/output/:invocation_id, or /restate/lookup",
    "bad_restate_api_path",
  );

/** `/Counter/add`: Restate's bad-path error, saying which path was meant. */
export const missingKey = (kind: "virtual object" | "workflow", path: string): BadRequestError =>
  new BadRequestError(`${badServicePath().message}: the service is a ${kind}; call it as ${path}`, "missing_key");

export const badKeyEncoding = (segment: string): BadRequestError =>
  new BadRequestError(`bad path, cannot decode key: '${segment}' is not percent-encoded UTF-8`, "bad_key_encoding");

/** `reason` names the id itself. */
export const badInvocationId = (reason: string): BadRequestError => new BadRequestError(`bad invocation id: ${reason}`, "bad_invocation_id");

export const badHeader = (name: string): BadRequestError =>
  new BadRequestError(`bad header ${name}: the value must be visible ASCII`, "bad_header");

export const badDelay = (reason: string): BadRequestError =>
  new BadRequestError(`bad delay query parameter, must be a ISO8601 duration: ${reason}`, "bad_delay");

export const scopeUnsupported = (): BadRequestError =>
  new BadRequestError("scoped invocations require vqueues to be enabled", "scope_requires_vqueues");
