import { RepriseError, UnavailableError } from "../types/errors.ts";
import type { RpcError } from "./gen/transport_pb.ts";

/** A peer's handler failed with an error the transport has no class for; callers match on its `code`. */
export class RemoteError extends RepriseError {
  constructor(code: string, message: string, retryable: boolean, httpStatus: number) {
    super(code, message, retryable, httpStatus);
  }
}

/** The peer could not be reached or the connection broke before it answered: the call may or may not have run. */
export class PeerUnavailableError extends UnavailableError {
  constructor(address: string, cause: unknown) {
    super(`peer ${address} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, "peer_unavailable", { cause });
  }
}

/** No answer within the call's timeout: the call may or may not have run. */
export class RpcTimeoutError extends UnavailableError {
  constructor(address: string, path: string, timeoutMs: number) {
    super(`call ${path} to ${address} timed out after ${timeoutMs} ms`, "rpc_timeout");
  }
}

const UNKNOWN_METHOD = "unknown_method";
const INTERNAL = "internal";

/** The peer does not serve this method (wrong port, or an incompatible version). */
export class UnknownMethodError extends RepriseError {
  constructor(path: string) {
    super(UNKNOWN_METHOD, `no handler for ${path}`, false, 404);
  }
}

/** A handler failed in a way it did not classify; the peer logged the details. */
export class InternalRpcError extends RepriseError {
  constructor(message: string) {
    super(INTERNAL, message, false, 500);
  }
}

/**
 * The error a caller sees for a failed call to `path`: the transport's own failures as their
 * classes, any other handler error as a RemoteError with the peer's code. Services with a wire
 * contract of their own (the log server's statuses) answer refusals in their responses instead.
 */
export function errorFromWire(wire: RpcError, httpStatus: number, path: string): RepriseError {
  switch (wire.code) {
    case UNKNOWN_METHOD:
      return new UnknownMethodError(path);
    case INTERNAL:
      return new InternalRpcError(wire.message);
    default:
      return new RemoteError(wire.code, wire.message, wire.retryable, httpStatus);
  }
}
