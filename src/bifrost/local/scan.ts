import { open } from "node:fs/promises";
import { CorruptionError } from "../../types/errors.ts";
import { checkFrame, FRAME_HEADER_BYTES, hasValidFrameAfter } from "./frame.ts";

const SCAN_CHUNK_BYTES = 1 << 20;

export interface ScannedFile {
  /** Byte position of each intact record, indexed by offset - firstOffset. */
  readonly positions: number[];
  /** Bytes up to the end of the last intact record. */
  readonly validBytes: number;
  readonly fileBytes: number;
  /** Set when the file ends in a partial or corrupt record that nothing valid follows. */
  readonly tornReason: string | null;
}

/**
 * Reads a data file front to back, checking every frame. A bad frame is a torn tail only in the
 * newest file and only if no intact record follows it; anything else is corruption, because every
 * earlier write was fsync'd before the next one started.
 */
export async function scanDataFile(path: string, firstOffset: number, isNewestFile: boolean): Promise<ScannedFile> {
  const fh = await open(path, "r");
  try {
    const fileBytes = (await fh.stat()).size;
    const positions: number[] = [];
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    const fill = async (from: number, need: number): Promise<void> => {
      const len = Math.min(fileBytes - from, Math.max(SCAN_CHUNK_BYTES, need));
      buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, from);
      if (bytesRead !== len) throw new CorruptionError(`${path}: short read at byte ${from} (${bytesRead} of ${len})`);
      bufStart = from;
    };

    let pos = 0;
    while (pos < fileBytes) {
      const expected = firstOffset + positions.length;
      let reason: string | null = null;
      if (bufStart + buf.length - pos < FRAME_HEADER_BYTES) await fill(pos, FRAME_HEADER_BYTES);
      if (fileBytes - pos < FRAME_HEADER_BYTES) {
        reason = "truncated header";
      } else {
        const frameBytes = FRAME_HEADER_BYTES + buf.readUInt32LE(pos - bufStart);
        if (pos + frameBytes > fileBytes) {
          reason = `record length runs ${pos + frameBytes - fileBytes} bytes past the end of the file`;
        } else {
          if (bufStart + buf.length < pos + frameBytes) await fill(pos, frameBytes);
          const check = checkFrame(buf.subarray(0, pos - bufStart + frameBytes), pos - bufStart, expected);
          if (check.ok) {
            positions.push(pos);
            pos += frameBytes;
            continue;
          }
          reason = check.reason;
        }
      }
      const where = `${path}: bad record at byte ${pos} (offset ${expected}): ${reason}`;
      if (!isNewestFile) throw new CorruptionError(`${where}; later data files exist`);
      await fill(pos, fileBytes - pos);
      if (hasValidFrameAfter(buf, 1, expected - 1)) throw new CorruptionError(`${where}; intact records follow it`);
      return { positions, validBytes: pos, fileBytes, tornReason: reason };
    }
    return { positions, validBytes: pos, fileBytes, tornReason: null };
  } finally {
    await fh.close();
  }
}
