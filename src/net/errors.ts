import { RepriseError, UnavailableError } from "../types/errors.ts";

/** A peer answered with an error code this process has no class registered for. */
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

/** The peer does not serve this method (wrong port, or an incompatible version). */
export class UnknownMethodError extends RepriseError {
  constructor(path: string) {
    super("unknown_method", `no handler for ${path}`, false, 404);
  }
}

/** A handler failed in a way it did not classify; the peer logged the details. */
export class InternalRpcError extends RepriseError {
  constructor(message: string) {
    super("internal", message, false, 500);
  }
}

type ErrorClass = abstract new (...args: never[]) => RepriseError;
const registry = new Map<string, ErrorClass>();

/**
 * Lets the client rebuild a typed error from its wire code, so `instanceof` works across processes.
 * Only for classes whose state is exactly code/message/retryable/httpStatus.
 */
export function registerWireError(code: string, cls: ErrorClass): void {
  const existing = registry.get(code);
  if (existing && existing !== cls) throw new Error(`wire error code '${code}' already registered for ${existing.name}`);
  registry.set(code, cls);
}

registerWireError("unknown_method", UnknownMethodError);
registerWireError("internal", InternalRpcError);

interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** Builds the error a caller sees from what the peer sent, without running the class's constructor. */
export function errorFromWire(wire: WireError, httpStatus: number): RepriseError {
  const cls = registry.get(wire.code);
  if (!cls) return new RemoteError(wire.code, wire.message, wire.retryable, httpStatus);
  const error = Object.create(cls.prototype) as RepriseError;
  const fields = { code: wire.code, message: wire.message, retryable: wire.retryable, httpStatus, name: cls.name };
  for (const [key, value] of Object.entries(fields)) {
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: key !== "message" && key !== "name" });
  }
  Error.captureStackTrace(error);
  return error;
}
