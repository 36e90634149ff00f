import { crc32 } from "node:zlib";

/**
 * On-disk record frame, little-endian:
 *   [u32 payload length][u32 crc32 of (offset bytes + payload)][u64 offset][payload]
 * The offset is inside the checksum so a record copied to the wrong place never verifies.
 */
export const FRAME_HEADER_BYTES = 16;
const U32 = 0x1_0000_0000;

/** Writes one frame at `pos` (the buffer must have room) and returns the position after it. */
export function writeFrame(buf: Buffer, pos: number, offset: number, payload: Uint8Array): number {
  buf.writeUInt32LE(payload.length, pos);
  buf.writeUInt32LE(offset % U32, pos + 8);
  buf.writeUInt32LE(Math.floor(offset / U32), pos + 12);
  buf.set(payload, pos + FRAME_HEADER_BYTES);
  const end = pos + FRAME_HEADER_BYTES + payload.length;
  buf.writeUInt32LE(crc32(buf.subarray(pos + 8, end)), pos + 4);
  return end;
}

export type FrameCheck =
  | { readonly ok: true; readonly end: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Validates the frame at `pos` of `buf` (which holds the file bytes up to `buf.length`) against the
 * offset it must carry.
 */
export function checkFrame(buf: Buffer, pos: number, expectedOffset: number): FrameCheck {
  if (buf.length - pos < FRAME_HEADER_BYTES) return { ok: false, reason: "truncated header" };
  const length = buf.readUInt32LE(pos);
  const end = pos + FRAME_HEADER_BYTES + length;
  if (end > buf.length) return { ok: false, reason: `length ${length} runs past the end of the data` };
  const offset = frameOffset(buf, pos);
  if (offset !== expectedOffset) return { ok: false, reason: `offset ${offset}, expected ${expectedOffset}` };
  if (crc32(buf.subarray(pos + 8, end)) !== buf.readUInt32LE(pos + 4)) return { ok: false, reason: "checksum mismatch" };
  return { ok: true, end };
}

export function frameOffset(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + 8) + buf.readUInt32LE(pos + 12) * U32;
}

export function framePayload(buf: Buffer, pos: number, end: number): Buffer {
  return buf.subarray(pos + FRAME_HEADER_BYTES, end);
}

/**
 * Whether any intact frame with an offset in (afterOffset, afterOffset + n] starts in `buf` at or
 * after `from`. Used to tell a torn tail (nothing valid follows) from corruption in the middle.
 */
export function hasValidFrameAfter(buf: Buffer, from: number, afterOffset: number): boolean {
  const maxOffset = afterOffset + Math.ceil((buf.length - from) / FRAME_HEADER_BYTES);
  for (let p = from; p + FRAME_HEADER_BYTES <= buf.length; p++) {
    const offset = frameOffset(buf, p);
    // Cheap filter before the checksum: only offsets that could follow the bad record.
    if (offset <= afterOffset || offset > maxOffset) continue;
    if (checkFrame(buf, p, offset).ok) return true;
  }
  return false;
}
