import { isUtf8 } from "node:buffer";
import type { SchemaView } from "../../schema/schema.ts";
import type { InvocationStatus, InvocationTarget, JournalEntry } from "../../types/invocation.ts";
import { partitionKeyForKey } from "../../partition/routing.ts";
import { messageTypeName, isCommandType, isNotificationType } from "../../protocol/message-type.ts";
import type { InvokerInvocationState } from "../../invoker/invoker.ts";
import type { InboxEntry, PromiseEntry, ReadOnlyPartitionStore } from "../../storage/partition-store.ts";
import { partitionKeyOf, type InvocationId } from "../../types/ids.ts";
import type {
  RowOf,
  SYS_DEPLOYMENT,
  SYS_IDEMPOTENCY,
  SYS_INBOX,
  SYS_INVOCATION_STATE,
  SYS_INVOCATION_STATUS,
  SYS_JOURNAL,
  SYS_KEYED_SERVICE_STATUS,
  SYS_PROMISE,
  SYS_SERVICE,
  STATE,
  TableName,
  TableRows,
} from "./tables.ts";

/** What one partition store held at one applied LSN: everything the tables are built from. */
export interface PartitionSnapshot {
  readonly invocations: readonly InvocationStatus[];
  readonly journals: ReadonlyMap<InvocationId, readonly JournalEntry[]>;
  readonly inbox: readonly (InboxEntry & { service: string; key: string })[];
  readonly state: readonly { service: string; key: string; stateKey: string; value: Uint8Array }[];
  readonly keyLocks: readonly { service: string; key: string; invocationId: InvocationId }[];
  readonly promises: readonly { service: string; key: string; name: string; entry: PromiseEntry }[];
}

/**
 * Reads one partition inside a single read transaction, so every table built from it reflects the
 * same applied LSN. Only what `tables` need is read.
 */
export function readPartition(store: ReadOnlyPartitionStore, tables: ReadonlySet<TableName>): PartitionSnapshot {
  const needs = (...names: TableName[]) => names.some((n) => tables.has(n));
  return store.read((tx) => {
    // Invocations also feed sys_inbox (created_at) and cross-partition caller lookups.
    const invocations = needs("sys_invocation_status", "sys_invocation_state", "sys_journal", "sys_inbox", "sys_idempotency")
      ? tx.listInvocations()
      : [];
    return {
      invocations,
      journals: new Map(needs("sys_journal") ? invocations.map((inv) => [inv.id, tx.getJournal(inv.id)] as const) : []),
      inbox: needs("sys_inbox") ? tx.listInbox() : [],
      state: needs("state") ? tx.listState() : [],
      keyLocks: needs("sys_keyed_service_status") ? tx.listKeyLocks() : [],
      promises: needs("sys_promise") ? tx.listPromises() : [],
    };
  });
}

/** Builds every table's rows from partition snapshots (any order) and the schema registry. */
export function buildRows(
  partitions: readonly PartitionSnapshot[],
  schema: SchemaView,
  invokerState: (id: InvocationId) => InvokerInvocationState | undefined = () => undefined,
): TableRows {
  const all = partitions.flatMap((p) => p.invocations);
  // A caller may live on another partition; its target is looked up across all of them.
  const byId = new Map(all.map((inv) => [inv.id, inv]));
  return {
    sys_invocation_status: all.map((inv) => invocationStatusRow(inv, inv.invokedBy === undefined ? undefined : byId.get(inv.invokedBy)?.target)),
    sys_invocation_state: all.filter((inv) => inv.status === "invoked").map((inv) => invocationStateRow(inv, invokerState(inv.id))),
    sys_journal: partitions.flatMap((p) => [...p.journals].flatMap(([id, entries]) => entries.map((e) => journalRow(id, e)))),
    state: partitions.flatMap((p) => p.state.map(stateRow)),
    sys_inbox: partitions.flatMap((p) =>
      p.inbox.map((e): RowOf<typeof SYS_INBOX> => ({
        partition_key: partitionKeyOf(e.invocationId),
        service_name: e.service,
        service_key: e.key,
        id: e.invocationId,
        sequence_number: BigInt(e.seq),
        created_at: byId.get(e.invocationId)?.createdAt ?? null,
      })),
    ),
    sys_idempotency: all.filter((inv) => inv.idempotencyKey !== undefined).map(idempotencyRow),
    sys_promise: partitions.flatMap((p) => p.promises.map(promiseRow)),
    sys_keyed_service_status: partitions.flatMap((p) =>
      p.keyLocks.map(
        (l): RowOf<typeof SYS_KEYED_SERVICE_STATUS> => ({
          partition_key: partitionKeyForKey(l.service, l.key),
          service_name: l.service,
          service_key: l.key,
          invocation_id: l.invocationId,
        }),
      ),
    ),
    sys_service: schema.listServices().map(
      (s): RowOf<typeof SYS_SERVICE> => ({
        name: s.name,
        revision: BigInt(s.revision),
        public: s.public,
        ty: SERVICE_TY[s.ty],
        deployment_id: s.deploymentId,
      }),
    ),
    sys_deployment: schema.listDeployments().map(
      (d): RowOf<typeof SYS_DEPLOYMENT> => ({
        id: d.id,
        ty: "http",
        endpoint: d.uri,
        created_at: d.createdAt,
        min_service_protocol_version: d.minProtocolVersion,
        max_service_protocol_version: d.maxProtocolVersion,
        services: d.services.map((s) => s.name),
      }),
    ),
  };
}

const SERVICE_TY = { SERVICE: "service", VIRTUAL_OBJECT: "virtual_object", WORKFLOW: "workflow" } as const;

/** Restate's target text: `Service/handler`, or `Service/key/handler` for keyed services. */
function targetText(t: InvocationTarget): string {
  return t.key === undefined ? `${t.service}/${t.handler}` : `${t.service}/${t.key}/${t.handler}`;
}

function invocationStatusRow(inv: InvocationStatus, callerTarget: InvocationTarget | undefined): RowOf<typeof SYS_INVOCATION_STATUS> {
  const { target, result } = inv;
  return {
    partition_key: partitionKeyOf(inv.id),
    id: inv.id,
    status: inv.status,
    ...(inv.status === "completed" && result
      ? {
          completion_result: result.kind,
          completion_failure: result.kind === "failure" ? `[${result.code}] ${result.message}` : null,
        }
      : {}),
    target: targetText(target),
    target_service_name: target.service,
    target_service_key: target.key ?? null,
    target_handler_name: target.handler,
    target_service_ty: SERVICE_TY[target.serviceType],
    idempotency_key: inv.idempotencyKey ?? null,
    invoked_by: inv.invokedBy === undefined ? "ingress" : "service",
    invoked_by_id: inv.invokedBy ?? null,
    invoked_by_service_name: callerTarget?.service ?? null,
    invoked_by_target: callerTarget ? targetText(callerTarget) : null,
    restarted_from: inv.restartedFrom ?? null,
    journal_size: inv.journalLength,
    journal_commands_size: inv.commandCount,
    created_at: inv.createdAt,
    modified_at: inv.modifiedAt,
    inboxed_at: inv.inboxedAt ?? null,
    scheduled_at: inv.scheduledAt ?? null,
    scheduled_start_at: inv.executionTime ?? null,
    running_at: inv.runningAt ?? null,
    completed_at: inv.completedAt ?? null,
    completion_retention: inv.completionRetentionMs,
    ...(inv.status === "suspended" && inv.awaiting
      ? {
          suspended_waiting_for_completions: inv.awaiting.completions,
          suspended_waiting_for_signals: inv.awaiting.signals,
        }
      : {}),
  };
}

/**
 * The invoker's in-memory view of an `invoked` invocation: whether an attempt is running now, and
 * its retries. Without an invoker entry (e.g. just before the leader picks it up) it counts as in flight.
 */
function invocationStateRow(inv: InvocationStatus, s: InvokerInvocationState | undefined): RowOf<typeof SYS_INVOCATION_STATE> {
  return {
    partition_key: partitionKeyOf(inv.id),
    id: inv.id,
    in_flight: s?.inFlight ?? true,
    retry_count: BigInt(s?.retryCount ?? 0),
    last_start_at: s?.lastStartAt ?? null,
    last_attempt_deployment_id: s?.lastDeploymentId ?? null,
    next_retry_at: s?.nextRetryAt ?? null,
    last_failure: s?.lastFailure ?? null,
  };
}

function journalRow(id: InvocationId, e: JournalEntry): RowOf<typeof SYS_JOURNAL> {
  return {
    partition_key: partitionKeyOf(id),
    id,
    index: e.index,
    entry_type: entryType(e.type),
    name: e.name ?? null,
    raw: e.payload,
    raw_length: BigInt(e.payload.length),
    // Service protocol V4+ journals are Restate's journal version 2.
    version: 2,
    appended_at: e.appendedAt,
  };
}

/** Restate's names: `Command: Run`, `Notification: Sleep`, `Notification: Signal`. */
function entryType(type: number): string {
  const name = messageTypeName(type);
  if (isCommandType(type)) return `Command: ${name.replace(/Command$/, "")}`;
  if (isNotificationType(type)) return `Notification: ${name.replace(/(Completion)?Notification$/, "")}`;
  return name;
}

function stateRow(s: PartitionSnapshot["state"][number]): RowOf<typeof STATE> {
  return {
    partition_key: partitionKeyForKey(s.service, s.key),
    service_name: s.service,
    service_key: s.key,
    key: s.stateKey,
    key_length: BigInt(Buffer.byteLength(s.stateKey, "utf8")),
    value_utf8: isUtf8(s.value) ? Buffer.from(s.value).toString("utf8") : null,
    value: s.value,
    value_length: BigInt(s.value.length),
  };
}

function idempotencyRow(inv: InvocationStatus): RowOf<typeof SYS_IDEMPOTENCY> {
  return {
    partition_key: partitionKeyOf(inv.id),
    service_name: inv.target.service,
    service_key: inv.target.key ?? null,
    service_handler: inv.target.handler,
    idempotency_key: inv.idempotencyKey ?? null,
    invocation_id: inv.id,
  };
}

function promiseRow(p: PartitionSnapshot["promises"][number]): RowOf<typeof SYS_PROMISE> {
  const { entry } = p;
  const value = entry.state === "resolved" ? (entry.value ?? new Uint8Array()) : null;
  return {
    partition_key: partitionKeyForKey(p.service, p.key),
    service_name: p.service,
    service_key: p.key,
    key: p.name,
    completed: entry.state !== "pending",
    completion_success_value: value,
    completion_success_value_utf8: value !== null && isUtf8(value) ? Buffer.from(value).toString("utf8") : null,
    completion_failure: entry.state === "rejected" && entry.failure ? `[${entry.failure.code}] ${entry.failure.message}` : null,
  };
}
