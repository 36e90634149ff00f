/**
 * Every error Reprise raises on purpose is a `RepriseError`: a stable `code`, an HTTP status for the
 * API layers, and whether retrying the same operation can succeed.
 */
export class RepriseError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly httpStatus = 500,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Bad input from a client: never retryable as is. */
export class BadRequestError extends RepriseError {
  constructor(message: string, code = "bad_request") {
    super(code, message, false, 400);
  }
}

export class NotFoundError extends RepriseError {
  constructor(message: string, code = "not_found") {
    super(code, message, false, 404);
  }
}

export class ConflictError extends RepriseError {
  constructor(message: string, code = "conflict") {
    super(code, message, false, 409);
  }
}

export class PayloadTooLargeError extends RepriseError {
  constructor(message: string) {
    super("payload_too_large", message, false, 413);
  }
}

/** A transient condition (no leader yet, peer unreachable, shutting down): try again. */
export class UnavailableError extends RepriseError {
  constructor(message: string, code = "unavailable", options?: { cause?: unknown }) {
    super(code, message, true, 503, options);
  }
}

/** Stored data failed its checksum or could not be decoded. */
export class CorruptionError extends RepriseError {
  constructor(message: string, code = "corruption") {
    super(code, message, false, 500);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
