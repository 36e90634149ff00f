import type { Logs, NodesConfiguration, SegmentConfig } from "../metadata/documents.ts";
import { BadRequestError, UnavailableError } from "../types/errors.ts";
import { PlainNodeId, type GenerationalNodeId, type LogId } from "../types/ids.ts";

/** `SegmentConfig.params` of a replicated segment. */
export interface ReplicatedLogletParams {
  /** The only node that may append; a new writer means a new segment. */
  readonly sequencer: GenerationalNodeId;
  /** Log servers that may hold this loglet's records. */
  readonly nodeset: readonly PlainNodeId[];
  /** Copies per record: a record is committed once this many log servers stored it. */
  readonly replication: number;
}

/** Loglet ids are derived from the segment, so a log server can find a loglet's params in `Logs`. */
export function replicatedLogletId(logId: LogId, segmentIndex: number): string {
  return `${logId}-${segmentIndex}`;
}

export function parseReplicatedParams(params: Readonly<Record<string, unknown>>): ReplicatedLogletParams {
  const { sequencer, nodeset, replication } = params as Partial<Record<keyof ReplicatedLogletParams, unknown>>;
  const seq = sequencer as Partial<GenerationalNodeId> | undefined;
  if (typeof seq?.id !== "number" || typeof seq.generation !== "number") {
    throw new BadRequestError("replicated segment params: sequencer must be {id, generation}", "invalid_loglet_params");
  }
  if (!Array.isArray(nodeset) || nodeset.length === 0 || !nodeset.every((n) => Number.isInteger(n) && n > 0)) {
    throw new BadRequestError("replicated segment params: nodeset must be a non-empty list of node ids", "invalid_loglet_params");
  }
  if (new Set(nodeset).size !== nodeset.length) {
    throw new BadRequestError("replicated segment params: nodeset has duplicates", "invalid_loglet_params");
  }
  if (!Number.isInteger(replication) || (replication as number) < 1 || (replication as number) > nodeset.length) {
    throw new BadRequestError(`replicated segment params: replication must be in 1..${nodeset.length}`, "invalid_loglet_params");
  }
  return {
    sequencer: { id: PlainNodeId(seq.id), generation: seq.generation },
    nodeset: nodeset.map((n: number) => PlainNodeId(n)),
    replication: replication as number,
  };
}

/** Servers that must be sealed so that no write quorum is left open: n - r + 1. */
export function sealQuorum(params: ReplicatedLogletParams): number {
  return params.nodeset.length - params.replication + 1;
}

/** The replicated segment with this loglet id in `logs`, if any. */
export function findReplicatedSegment(logs: Logs, logletId: string): { logId: LogId; segment: SegmentConfig; params: ReplicatedLogletParams } | null {
  for (const chain of logs.logs) {
    for (const segment of chain.segments) {
      if (segment.provider === "replicated" && replicatedLogletId(chain.logId, segment.index) === logletId) {
        return { logId: chain.logId, segment, params: parseReplicatedParams(segment.params) };
      }
    }
  }
  return null;
}

/** Not enough writable log servers for the replication asked for. */
export class InsufficientLogServersError extends UnavailableError {
  constructor(available: number, replication: number) {
    super(`${available} read-write log servers, replication ${replication} needs at least that many`, "insufficient_log_servers");
  }
}

/**
 * Params for a new replicated segment written by `sequencer`: the nodeset is every log server whose
 * storage state is read-write (only those may receive new segments), less those `excluded` (e.g.
 * servers the failure detector holds dead, which would only slow every write down).
 */
export function newReplicatedParams(
  config: NodesConfiguration,
  sequencer: GenerationalNodeId,
  replication: number,
  excluded: (node: PlainNodeId) => boolean = () => false,
): ReplicatedLogletParams {
  const nodeset = config.nodes
    .filter((n) => n.roles.includes("log-server") && n.logServer?.storageState === "read-write" && !excluded(n.id))
    .map((n) => n.id)
    .sort((a, b) => a - b);
  if (nodeset.length < replication) throw new InsufficientLogServersError(nodeset.length, replication);
  return { sequencer: { id: sequencer.id, generation: sequencer.generation }, nodeset, replication };
}
