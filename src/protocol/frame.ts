import { create, fromBinary, toBinary, type DescMessage, type Message, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { FrameTooLargeError, ProtocolViolationError, UnknownMessageTypeError } from "./errors.ts";
import { isCustomType, isKnownType, messageKind, messageSchema, messageTypeName, messageTypeOf, type KnownMessageType, type MessageKind } from "./message-type.ts";

/**
 * Frame layout: an 8-byte big-endian header — u16 type, u16 flags, u32 payload length — then the
 * protobuf payload. REQUESTED_ACK is the top bit of the flags (0x8000_0000_0000 on the u64).
 */
export const FRAME_HEADER_BYTES = 8;
const REQUESTED_ACK_FLAG = 0x8000;

/** Default cap on one frame's payload, so a corrupt length cannot make us buffer gigabytes. */
export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;

export interface Frame {
  readonly type: number;
  /** Raw u16 flags, REQUESTED_ACK included. */
  readonly flags: number;
  readonly requestedAck: boolean;
  /** May be a view into the chunk it arrived in. */
  readonly payload: Uint8Array;
}

export interface EncodeOptions {
  /** Only meaningful on ProposeRunCompletion: asks for a ProposeRunCompletionAck instead of the echoed notification. */
  readonly requestedAck?: boolean;
}

/**
 * Frames a message. `body` is either a generated message (checked against `type`'s schema and
 * serialized) or payload bytes already serialized, e.g. a journal entry or a custom entry.
 */
export function encodeFrame(type: number, body: Message | Uint8Array, opts: EncodeOptions = {}): Buffer {
  if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new RangeError(`frame type ${type} is not a u16`);
  const payload = body instanceof Uint8Array ? body : serialize(type, body);
  if (payload.length > 0xffffffff) throw new RangeError(`frame payload of ${payload.length} bytes does not fit a u32 length`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt16BE(type, 0);
  frame.writeUInt16BE(opts.requestedAck ? REQUESTED_ACK_FLAG : 0, 2);
  frame.writeUInt32BE(payload.length, 4);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** `encodeFrame` for a message built from its schema: `encodeMessage(pb.EndMessageSchema, {})`. */
export function encodeMessage<D extends DescMessage>(schema: D, init: MessageInitShape<D>, opts?: EncodeOptions): Buffer {
  return encodeFrame(messageTypeOf(schema), toBinary(schema, create(schema, init)), opts);
}

function serialize(type: number, message: Message): Uint8Array {
  const schema = messageSchema(type);
  // Caller bugs, not peer errors: a message under the wrong type id would corrupt the journal.
  if (!schema) throw new TypeError(`frame type ${messageTypeName(type)} has no schema; pass its payload as bytes`);
  if (schema.typeName !== message.$typeName) throw new TypeError(`${message.$typeName} cannot be framed as ${messageTypeName(type)}`);
  return toBinary(schema, message);
}

export interface FrameDecoderOptions {
  readonly maxFrameBytes?: number;
}

/**
 * Incremental decoder for a byte stream of frames: accepts chunks split anywhere and returns the
 * frames each chunk completes. Unknown (non-custom) types and oversize lengths are rejected as soon
 * as the header is read; after an error the decoder keeps failing with the same error.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private header: { type: number; flags: number; length: number } | null = null;
  private failure: Error | null = null;

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.header === null) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const h = this.take(FRAME_HEADER_BYTES);
        const view = new DataView(h.buffer, h.byteOffset, FRAME_HEADER_BYTES);
        const header = { type: view.getUint16(0), flags: view.getUint16(2), length: view.getUint32(4) };
        if (!isKnownType(header.type) && !isCustomType(header.type)) this.fail(new UnknownMessageTypeError(header.type));
        if (header.length > this.maxFrameBytes) this.fail(new FrameTooLargeError(header.type, header.length, this.maxFrameBytes));
        this.header = header;
      }
      const { type, flags, length } = this.header;
      if (this.buffered < length) break;
      frames.push({ type, flags, requestedAck: (flags & REQUESTED_ACK_FLAG) !== 0, payload: this.take(length) });
      this.header = null;
    }
    return frames;
  }

  /** Call when the stream ends: a partially received frame means the peer cut it short. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered > 0 || this.header !== null) {
      const what = this.header ? `${messageTypeName(this.header.type)} frame with ${this.buffered} of ${this.header.length} payload bytes` : `${this.buffered}-byte partial frame header`;
      this.fail(new ProtocolViolationError(`stream ended inside a ${what}`, "truncated_frame"));
    }
  }

  private fail(e: Error): never {
    this.failure = e;
    this.chunks = [];
    this.buffered = 0;
    throw e;
  }

  // Takes n buffered bytes; copies only when they span chunks, so 1-byte chunks stay linear overall.
  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (n === 0) return new Uint8Array(0);
    this.buffered -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const want = n - filled;
      if (c.length <= want) {
        out.set(c, filled);
        filled += c.length;
        this.chunks.shift();
      } else {
        out.set(c.subarray(0, want), filled);
        filled += want;
        this.chunks[0] = c.subarray(want);
      }
    }
    return out;
  }
}

export type DecodedMessage =
  | { readonly kind: Exclude<MessageKind, "custom">; readonly type: KnownMessageType; readonly message: Message }
  | { readonly kind: "custom"; readonly type: number; readonly message: Uint8Array };

/** Parses a frame's payload with the schema of its type; custom entries come back as raw bytes. */
export function decodeMessage(frame: Frame): DecodedMessage {
  const kind = messageKind(frame.type);
  if (kind === "custom") return { kind, type: frame.type, message: frame.payload };
  return { kind, type: frame.type as KnownMessageType, message: parse(messageSchema(frame.type)!, frame) };
}

/** Parses a frame that must be of `schema`'s type, e.g. `decodeAs(f, pb.SuspensionMessageSchema)`. */
export function decodeAs<D extends DescMessage>(frame: Frame, schema: D): MessageShape<D> {
  const expected = messageTypeOf(schema);
  if (frame.type !== expected) {
    throw new ProtocolViolationError(`expected a ${messageTypeName(expected)} frame, got ${messageTypeName(frame.type)}`, "unexpected_message_type");
  }
  return parse(schema, frame);
}

function parse<D extends DescMessage>(schema: D, frame: Frame): MessageShape<D> {
  try {
    return fromBinary(schema, frame.payload);
  } catch (e) {
    throw new ProtocolViolationError(`cannot decode ${messageTypeName(frame.type)} payload (${frame.payload.length} bytes)`, "protocol_violation", { cause: e });
  }
}
