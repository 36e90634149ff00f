import { INVOCATION_ID_BYTES, invocationIdFromBytes, invocationIdToBytes, type InvocationId } from "../types/ids.ts";

/** SDKs speaking protocol v4+ name awakeables `sign_1` + base64url(invocation id bytes ‖ u32 BE signal index). */
const PREFIX = "sign_1";

export function parseAwakeableId(text: string): { invocationId: InvocationId; signalIdx: number } | null {
  if (!text.startsWith(PREFIX)) return null;
  const bytes = Buffer.from(text.slice(PREFIX.length), "base64url");
  if (bytes.length !== INVOCATION_ID_BYTES + 4) return null;
  if (bytes.toString("base64url") !== text.slice(PREFIX.length).replace(/=+$/, "")) return null;
  return { invocationId: invocationIdFromBytes(bytes.subarray(0, INVOCATION_ID_BYTES)), signalIdx: bytes.readUInt32BE(INVOCATION_ID_BYTES) };
}

export function formatAwakeableId(invocationId: InvocationId, signalIdx: number): string {
  const idx = Buffer.alloc(4);
  idx.writeUInt32BE(signalIdx);
  return PREFIX + Buffer.concat([invocationIdToBytes(invocationId), idx]).toString("base64url");
}
