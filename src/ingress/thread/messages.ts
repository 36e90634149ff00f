/**
 * What the ingress thread and the node's main thread say to each other. The ingress thread
 * serves HTTP; every partition operation is a call to the main thread's `InvocationDispatcher`.
 * Values cross by structured clone, so only plain data: errors travel as their typed fields.
 */
import type { MessagePort } from "node:worker_threads";
import type { ThreadError } from "../../common/thread-error.ts";
import type { InvocationId, PartitionId } from "../../types/ids.ts";
import type { InvocationStatus } from "../../types/invocation.ts";
import type { Command, InvokeRequest } from "../../partition/records.ts";
import type { InvocationWithJournal, ResultAnswer } from "../../partition/dispatcher.ts";
import type { RetentionDefaults } from "../../schema/retention.ts";
import type { SchemaRegistry } from "../../schema/schema.ts";

/** The dispatcher operations that answer asynchronously, by name, with their arguments and answers. */
export interface DispatcherCalls {
  dispatch: { args: [request: InvokeRequest]; answer: void };
  propose: { args: [target: InvocationId, command: Command]; answer: void };
  readStatus: { args: [id: InvocationId]; answer: InvocationStatus | null };
  readWithJournal: { args: [id: InvocationId]; answer: InvocationWithJournal | null };
}
export type DispatcherOp = keyof DispatcherCalls;

/** Which partitions a keyless call may be placed on: those the node leads, or any. */
export type KeylessPlacement = readonly PartitionId[] | "any";

export type ToMain =
  | { readonly t: "call"; readonly seq: number; readonly op: DispatcherOp; readonly args: readonly unknown[] }
  /**
   * Registered before the dispatch that names `requestId` in its response sink is sent; `again`:
   * registered anew on a restarted partition thread, which answers at once from its store if the
   * invocation completed meanwhile.
   */
  | { readonly t: "await"; readonly id: InvocationId; readonly requestId: string; readonly again?: true }
  | { readonly t: "cancel"; readonly id: InvocationId; readonly requestId: string }
  | { readonly t: "listening"; readonly port: number }
  | { readonly t: "failed"; readonly error: ThreadError }
  | { readonly t: "schema-applied"; readonly version: number }
  | { readonly t: "closed" };

export type ToIngress =
  | { readonly t: "answer"; readonly seq: number; readonly ok: true; readonly value: unknown; readonly keyless: KeylessPlacement }
  | { readonly t: "answer"; readonly seq: number; readonly ok: false; readonly error: ThreadError; readonly keyless: KeylessPlacement }
  | { readonly t: "result"; readonly id: InvocationId; readonly requestId: string; readonly answer: ResultAnswer }
  | { readonly t: "schema"; readonly version: number; readonly registry: SchemaRegistry }
  /** A restarted partition thread's link, replacing its predecessor's for the same partitions. */
  | { readonly t: "link"; readonly link: PartitionLink }
  | { readonly t: "close" };

/** Everything the ingress thread starts from (its `workerData`). */
export interface IngressThreadSettings {
  readonly port: number;
  readonly host: string;
  readonly bodyLimitBytes: number;
  readonly corsAllowedOrigins: readonly string[];
  readonly retention: RetentionDefaults;
  readonly nodeId: number;
  readonly nodeName: string;
  readonly partitions: number;
  readonly tracing: { readonly endpoint: string; readonly serviceName: string };
  readonly schema: SchemaRegistry;
  readonly keyless: KeylessPlacement;
  /** Ports to the threads that serve some partitions themselves (a single node's partition threads). */
  readonly partitionLinks: readonly PartitionLink[];
}

/** A port on which a thread answers the dispatcher calls for `partitions` (a `DispatcherServer`). */
export interface PartitionLink {
  readonly partitions: readonly PartitionId[];
  readonly port: MessagePort;
}
