import { Packr } from "msgpackr";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AppliedResultSchema, AppliedResult as WireAppliedResult } from "../net/gen/cluster_pb.ts";
import type { AppliedResult } from "../partition/state-machine/index.ts";
import { CorruptionError, errorMessage } from "../types/errors.ts";
import { parseInvocationId } from "../types/ids.ts";
import type { InvocationStatus, JournalEntry } from "../types/invocation.ts";

/**
 * How invocation data travels between nodes: results as protobuf fields, and a status and its
 * journal as msgpack, as the partition store keeps them (their shape is the store's, and it would
 * be a second copy of that shape to spell out in protobuf).
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

/** A peer sent bytes that do not decode: its version or its memory is broken, and a retry sends the same. */
export class CorruptInvocationWireError extends CorruptionError {
  constructor(what: string, reason: string) {
    super(`a peer sent an undecodable ${what}: ${reason}`, "corrupt_invocation_wire");
  }
}

export function encodeStatus(status: InvocationStatus): Uint8Array {
  return packr.pack(status);
}

export function decodeStatus(bytes: Uint8Array): InvocationStatus {
  return unpack(bytes, "invocation status");
}

export function encodeJournalEntry(entry: JournalEntry): Uint8Array {
  return packr.pack(entry);
}

export function decodeJournalEntry(bytes: Uint8Array): JournalEntry {
  return unpack(bytes, "journal entry");
}

export function resultToWire(applied: AppliedResult): MessageInitShape<typeof AppliedResultSchema> {
  const { result } = applied;
  return {
    invocationId: applied.id,
    result: { outcome: result.kind === "success" ? { case: "success", value: result.value } : { case: "failure", value: { code: result.code, message: result.message } } },
    ...(applied.requestId !== undefined ? { requestId: applied.requestId } : {}),
    refused: applied.refused === true,
  };
}

export function resultFromWire(wire: WireAppliedResult): AppliedResult {
  const outcome = wire.result?.outcome;
  let id;
  try {
    id = parseInvocationId(wire.invocationId);
  } catch (e) {
    throw new CorruptInvocationWireError("result", errorMessage(e));
  }
  if (outcome === undefined || outcome.case === undefined) throw new CorruptInvocationWireError("result", `no outcome for ${id}`);
  const result =
    outcome.case === "success" ? { kind: "success" as const, value: outcome.value } : { kind: "failure" as const, code: outcome.value.code, message: outcome.value.message };
  return { id, result, ...(wire.requestId !== undefined ? { requestId: wire.requestId } : {}), ...(wire.refused ? { refused: true as const } : {}) };
}

function unpack<T>(bytes: Uint8Array, what: string): T {
  try {
    return packr.unpack(bytes) as T;
  } catch (e) {
    throw new CorruptInvocationWireError(what, errorMessage(e));
  }
}
