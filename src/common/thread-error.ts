import { RepriseError } from "../types/errors.ts";

/**
 * An error on its way to another thread of the process. Values cross threads by structured clone,
 * which keeps an Error's message but not its class: a `RepriseError` travels as its typed fields and
 * is rebuilt on the other side; anything else has an empty code and arrives as an untyped error.
 */
export interface ThreadError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly httpStatus: number;
}

export function errorToThread(e: unknown): ThreadError {
  if (e instanceof RepriseError) return { code: e.code, message: e.message, retryable: e.retryable, httpStatus: e.httpStatus };
  return { code: "", message: e instanceof Error ? e.message : String(e), retryable: false, httpStatus: 500 };
}

/** The error as the other thread had it, so it is answered the same way: typed, or an untyped internal one. */
export function errorFromThread(e: ThreadError): Error {
  return e.code === "" ? new Error(e.message) : new RepriseError(e.code, e.message, e.retryable, e.httpStatus);
}
