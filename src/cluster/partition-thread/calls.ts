/**
 * What a node's main thread and its partition threads ask of each other (`ThreadChannel`). Values
 * cross by structured clone: plain data only.
 */
import type { LogEntry, LogTail } from "../../bifrost/bifrost.ts";
import type { ThreadError } from "../../common/thread-error.ts";
import type { InvokerInvocationState } from "../../invoker/invoker.ts";
import type { MetadataCalls, MetadataNotices } from "../../metadata/thread-metadata-store.ts";
import type { Command } from "../../partition/records.ts";
import type { SchemaRegistry } from "../../schema/schema.ts";
import type { InvocationId, LeaderEpoch, LogId, Lsn, PartitionId } from "../../types/ids.ts";
import type { MessagePort } from "node:worker_threads";
import type { NodeConfig } from "../config.ts";

/** A processor's leadership as its thread last reported it; progress is read from its store. */
export interface ReplicaLeadership {
  readonly partitionId: PartitionId;
  readonly isLeader: boolean;
  readonly announcedLeader: { readonly epoch: LeaderEpoch; readonly nodeId: number } | null;
}

/** What a partition thread serves. */
export type PartitionThreadCalls = MetadataNotices & {
  append: { args: [partition: PartitionId, command: Command]; answer: Lsn };
  /** `PartitionStore.persist` of the partition's store, whose only writer is the thread. */
  persist: { args: [partition: PartitionId]; answer: Lsn };
  logAppend: { args: [logId: LogId, payloads: readonly Uint8Array[]]; answer: Lsn };
  logRead: { args: [logId: LogId, from: Lsn, limit: number]; answer: LogEntry[] };
  logWaitForTail: { args: [logId: LogId, lsn: Lsn]; answer: Lsn };
  logFindTail: { args: [logId: LogId]; answer: Lsn };
  logDescribeTail: { args: [logId: LogId]; answer: LogTail };
  logTrim: { args: [logId: LogId, upTo: Lsn]; answer: void };
  logGetTrimPoint: { args: [logId: LogId]; answer: Lsn };
  invokerStates: { args: []; answer: [InvocationId, InvokerInvocationState][] };
  /** Resolves once the thread's invoker uses `registry`. */
  schema: { args: [registry: SchemaRegistry]; answer: void };
  /** Stops the processors and the invoker and closes the stores and the log. */
  close: { args: []; answer: void };
};

/** What the main thread serves its partition threads. */
export type MainThreadCalls = MetadataCalls & {
  /** An outbox message for a partition of another thread; resolves once it is durable there. */
  propose: { args: [target: InvocationId, command: Command]; answer: void };
  /** Notice: leadership of some of the thread's processors changed. */
  leadership: { args: [replicas: readonly ReplicaLeadership[]]; answer: void };
  /** Notice: the thread is up, every processor leading. */
  ready: { args: [replicas: readonly ReplicaLeadership[]]; answer: void };
  /** Notice: the thread could not start; it exits. */
  failed: { args: [error: ThreadError]; answer: void };
};

/** Everything a partition thread starts from (its `workerData`). */
export interface PartitionThreadData {
  readonly config: NodeConfig;
  readonly baseDir: string;
  readonly nodeId: number;
  readonly partitions: readonly PartitionId[];
  readonly registry: SchemaRegistry;
  /** Numbers the thread's own working directories. */
  readonly index: number;
  /**
   * The ingress thread's link: its dispatcher calls for this thread's partitions come here, and
   * the results they wait for are answered from here (no other thread waits for them).
   */
  readonly ingressPort: MessagePort;
}
