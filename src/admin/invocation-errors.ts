import { RepriseError } from "../types/errors.ts";

/** Restate's answers when an invocation is in no state for the requested operation, with its status codes. */
const STATUS = {
  invocation_not_found: 404,
  invocation_already_completed: 409,
  invocation_not_completed: 409,
  invocation_not_running: 409,
  invocation_still_running: 409,
  /** Inboxed or scheduled: it has not started, so there is nothing to resume or restart. */
  invocation_not_started: 425,
  /** Resume or restart on another deployment, for an invocation that is running or not pinned yet. */
  cannot_change_deployment: 409,
  deployment_not_found: 400,
  /** The chosen deployment does not speak the service protocol version the invocation is pinned to. */
  incompatible_deployment: 400,
  /** Workflows, and a journal prefix of an invocation on a protocol before V6, cannot be restarted. */
  restart_unsupported: 422,
  /** The journal is gone (not retained), so the input cannot be read again. */
  invocation_input_missing: 410,
  journal_index_out_of_range: 400,
  journal_copy_range_invalid: 400,
  invalid_query_parameter: 400,
} as const;

export type InvocationErrorCode = keyof typeof STATUS;

/** An invocation operation refused because of the invocation's state or the request's parameters; nothing changed. */
export class InvocationOperationError extends RepriseError {
  constructor(code: InvocationErrorCode, message: string) {
    super(code, message, false, STATUS[code]);
  }
}
