import { RepriseError } from "../types/errors.ts";

/**
 * Frames of the multiplexed call stream (`MUX_PATH`): many unary calls and their answers on one
 * long-lived HTTP/2 stream per connection. Every frame starts with its length (u32, the bytes
 * after it), its kind (u8) and the call's id (u32); then, by kind:
 * - CALL: the caller's timeout in ms (u32), the path's length (u16), the path (UTF-8), the body;
 * - ANSWER: the HTTP status it stands for (u16), whether the body is an error (u8), the body;
 * - CANCEL: nothing; the caller gave up, the handler is aborted.
 */
export const MUX_PATH = "/reprise.net.Mux/Calls";
export const CONTENT_TYPE_MUX = "application/x-reprise-mux";

export const FrameKind = { Call: 1, Answer: 2, Cancel: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const LENGTH_BYTES = 4;
const PREFIX_BYTES = LENGTH_BYTES + 1 + 4;
const CALL_HEADER_BYTES = PREFIX_BYTES + 4 + 2;
const ANSWER_HEADER_BYTES = PREFIX_BYTES + 2 + 1;
/** Bodies up to this size are copied behind their header into one write; larger ones are written after it. */
const COPY_BODY_BELOW = 16 * 1024;
/** What a CALL frame adds to its body, at most (the longest path a u16 length can name). */
export const MAX_CALL_OVERHEAD_BYTES = CALL_HEADER_BYTES - LENGTH_BYTES + 0xffff;
/** What an ANSWER frame adds to its body. */
export const MAX_ANSWER_OVERHEAD_BYTES = ANSWER_HEADER_BYTES - LENGTH_BYTES;

export type MuxFrame =
  | { readonly kind: typeof FrameKind.Call; readonly id: number; readonly timeoutMs: number; readonly path: string; readonly body: Buffer }
  | { readonly kind: typeof FrameKind.Answer; readonly id: number; readonly status: number; readonly isError: boolean; readonly body: Buffer }
  | { readonly kind: typeof FrameKind.Cancel; readonly id: number };

/** The peer sent bytes that are not frames of this protocol: the stream carrying them is unusable. */
export class MuxProtocolError extends RepriseError {
  constructor(message: string) {
    super("mux_protocol_error", message, true, 502);
  }
}

/** The buffers to write for one CALL frame (one for a small body, header then body for a large one). */
export function callFrame(id: number, timeoutMs: number, path: string, body: Uint8Array): Buffer[] {
  const pathBytes = Buffer.from(path, "utf8");
  if (pathBytes.length > 0xffff) throw new RangeError(`path of ${pathBytes.length} bytes is too long for a call frame`);
  const headerBytes = CALL_HEADER_BYTES + pathBytes.length;
  const [frame, at] = startFrame(FrameKind.Call, id, headerBytes, body);
  frame.writeUInt32BE(Math.min(timeoutMs, 0xffffffff) >>> 0, PREFIX_BYTES);
  frame.writeUInt16BE(pathBytes.length, PREFIX_BYTES + 4);
  pathBytes.copy(frame, CALL_HEADER_BYTES);
  return finishFrame(frame, at, body);
}

/** The buffers to write for one ANSWER frame. */
export function answerFrame(id: number, status: number, isError: boolean, body: Uint8Array): Buffer[] {
  const [frame, at] = startFrame(FrameKind.Answer, id, ANSWER_HEADER_BYTES, body);
  frame.writeUInt16BE(status, PREFIX_BYTES);
  frame[PREFIX_BYTES + 2] = isError ? 1 : 0;
  return finishFrame(frame, at, body);
}

export function cancelFrame(id: number): Buffer {
  const [frame] = startFrame(FrameKind.Cancel, id, PREFIX_BYTES, EMPTY);
  return frame;
}

const EMPTY = new Uint8Array(0);

function startFrame(kind: FrameKind, id: number, headerBytes: number, body: Uint8Array): [Buffer, number] {
  const copied = body.length < COPY_BODY_BELOW;
  const frame = Buffer.allocUnsafe(copied ? headerBytes + body.length : headerBytes);
  frame.writeUInt32BE(headerBytes - LENGTH_BYTES + body.length, 0);
  frame[LENGTH_BYTES] = kind;
  frame.writeUInt32BE(id, LENGTH_BYTES + 1);
  return [frame, copied ? headerBytes : -1];
}

function finishFrame(frame: Buffer, bodyAt: number, body: Uint8Array): Buffer[] {
  if (bodyAt < 0) return [frame, Buffer.from(body.buffer, body.byteOffset, body.length)];
  frame.set(body, bodyAt);
  return [frame];
}

/**
 * Cuts a stream's chunks into frames. Frames and chunks need not line up: a frame may span
 * chunks and a chunk hold several frames. A body is a view into what the stream delivered
 * (no copy unless the frame spanned chunks).
 */
export class FrameReader {
  /** Chunks holding the start of a frame not complete yet, joined once it is (a large answer arrives in many chunks). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** `maxFrameBytes`: the largest frame (after its length) accepted; a longer one is a protocol error. */
  constructor(private readonly maxFrameBytes: number) {}

  /** Calls `onFrame` for every frame `chunk` completes; throws MuxProtocolError on bytes that are not frames. */
  push(chunk: Buffer, onFrame: (frame: MuxFrame) => void): void {
    let data = chunk;
    if (this.pending.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.pendingFrameBytes()) return;
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let at = 0;
    while (data.length - at >= LENGTH_BYTES) {
      const length = this.frameLength(data, at);
      if (data.length - at - LENGTH_BYTES < length) break;
      onFrame(parseFrame(data.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length)));
      at += LENGTH_BYTES + length;
    }
    if (at < data.length) {
      this.pending = [data.subarray(at)];
      this.pendingBytes = data.length - at;
    }
  }

  /** Whether bytes of an unfinished frame are waiting for more. */
  get midFrame(): boolean {
    return this.pending.length > 0;
  }

  /** Bytes the pending frame needs in all, its length prefix included, as far as is known yet. */
  private pendingFrameBytes(): number {
    if (this.pendingBytes < LENGTH_BYTES) return LENGTH_BYTES;
    if (this.pending[0].length < LENGTH_BYTES) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return LENGTH_BYTES + this.frameLength(this.pending[0], 0);
  }

  private frameLength(data: Buffer, at: number): number {
    const length = data.readUInt32BE(at);
    if (length > this.maxFrameBytes) throw new MuxProtocolError(`frame of ${length} bytes exceeds ${this.maxFrameBytes}`);
    return length;
  }
}

/** One frame without its length prefix. */
function parseFrame(f: Buffer): MuxFrame {
  if (f.length < 5) throw new MuxProtocolError(`frame of ${f.length} bytes is shorter than its kind and id`);
  const kind = f[0];
  const id = f.readUInt32BE(1);
  switch (kind) {
    case FrameKind.Call: {
      const fixed = CALL_HEADER_BYTES - LENGTH_BYTES;
      if (f.length < fixed) throw new MuxProtocolError(`call frame of ${f.length} bytes is shorter than its header`);
      const pathBytes = f.readUInt16BE(9);
      if (f.length < fixed + pathBytes) throw new MuxProtocolError(`call frame of ${f.length} bytes is shorter than its path`);
      return { kind: FrameKind.Call, id, timeoutMs: f.readUInt32BE(5), path: f.toString("utf8", fixed, fixed + pathBytes), body: f.subarray(fixed + pathBytes) };
    }
    case FrameKind.Answer: {
      const fixed = ANSWER_HEADER_BYTES - LENGTH_BYTES;
      if (f.length < fixed) throw new MuxProtocolError(`answer frame of ${f.length} bytes is shorter than its header`);
      return { kind: FrameKind.Answer, id, status: f.readUInt16BE(5), isError: f[7] === 1, body: f.subarray(fixed) };
    }
    case FrameKind.Cancel:
      return { kind: FrameKind.Cancel, id };
    default:
      throw new MuxProtocolError(`unknown frame kind ${kind}`);
  }
}
