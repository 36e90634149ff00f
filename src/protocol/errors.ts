import { RepriseError } from "../types/errors.ts";

/**
 * The peer broke the service protocol (bad frame, unknown type, undecodable payload). Retrying the
 * same exchange with the same deployment code would fail the same way.
 */
export class ProtocolViolationError extends RepriseError {
  constructor(message: string, code = "protocol_violation", options?: { cause?: unknown }) {
    super(code, message, false, 500, options);
  }
}

export class UnknownMessageTypeError extends ProtocolViolationError {
  constructor(readonly type: number) {
    super(`unknown service protocol message type 0x${type.toString(16).padStart(4, "0")}`, "unknown_message_type");
  }
}

export class FrameTooLargeError extends ProtocolViolationError {
  constructor(
    readonly type: number,
    readonly length: number,
    readonly limit: number,
  ) {
    super(
      `service protocol frame of type 0x${type.toString(16).padStart(4, "0")} declares ${length} payload bytes, over the ${limit}-byte limit`,
      "frame_too_large",
    );
  }
}
