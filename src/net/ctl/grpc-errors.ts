import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { RepriseError } from "../../types/errors.ts";

/** The gRPC status of a Reprise error, from the HTTP status it already carries. */
export function grpcCodeOf(e: RepriseError): Code {
  switch (e.httpStatus) {
    case 400:
      return Code.InvalidArgument;
    case 404:
      return Code.NotFound;
    case 409:
      return Code.FailedPrecondition;
    case 413:
      return Code.ResourceExhausted;
    case 501:
      return Code.Unimplemented;
    default:
      return e.retryable ? Code.Unavailable : Code.Internal;
  }
}

/** Answers a handler's `RepriseError` with its gRPC status and message (ConnectRPC would say "internal error"). */
export const repriseErrorsAsStatus: Interceptor = (next) => async (request) => {
  try {
    return await next(request);
  } catch (e) {
    if (e instanceof RepriseError) throw new ConnectError(e.message, grpcCodeOf(e), undefined, undefined, e);
    throw e;
  }
};
