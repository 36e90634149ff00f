/**
 * Fills the tables a query reads from partition store snapshots and the node's in-memory views,
 * reading only what the plan asks for: scans pushed to the stores' indexes, whole statuses and
 * journal payloads decoded only when a column needs them. Rows stream into a sink one at a time,
 * so memory stays bounded by the sink (DuckDB's memory limit), not by the store's size.
 */
import { isUtf8 } from "node:buffer";
import { partitionKeyForKey } from "../../partition/routing.ts";
import type {
  ColumnConstraint,
  InvocationCountColumn,
  InvocationScanColumn,
  InvocationScanRow,
  JournalScanRow,
  ReadTxn,
  Scan,
  StateScanColumn,
} from "../../storage/partition-store.ts";
import { partitionKeyOf, type InvocationId } from "../../types/ids.ts";
import type { InvocationStatus, InvocationStatusKind, InvocationTarget } from "../../types/invocation.ts";
import type { InvokerInvocationState } from "../../invoker/invoker.ts";
import { RepriseError } from "../../types/errors.ts";
import { deriveJournal, entryType } from "./journal-rows.ts";
import type { CountPushdown } from "./counts.ts";
import type { Constraint, Plan, PlanValue, RelationNeeds, RelationScan } from "./plan.ts";
import type { RowOf, TableName } from "./tables.ts";

/** The invoker's view of an invocation it drives, as the worker receives it. */
export type InvokerRow = InvokerInvocationState & { readonly id: InvocationId };

/** Everything a query reads besides the stores; plain data, so it crosses to a worker thread. */
export interface QueryContext {
  readonly services: readonly RowOf<"sys_service">[];
  readonly deployments: readonly RowOf<"sys_deployment">[];
  readonly invoker: readonly InvokerRow[];
  /** Each partition replica's report, as the cluster status gathers them (only when the query reads `partition_state`). */
  readonly partitionStates: readonly RowOf<"partition_state">[];
}

export interface RowSink {
  append<T extends TableName>(table: T, row: RowOf<T>): void;
}

/** A query that ran past its deadline while loading; DuckDB's own run is interrupted separately. */
export class QueryTimeoutError extends RepriseError {
  constructor(ms: number) {
    super("query_timeout", `query interrupted after ${ms} ms`, true, 503);
  }
}

export interface LoadOptions {
  readonly partitions: readonly ReadTxn[];
  readonly context: QueryContext;
  readonly sink: RowSink;
  readonly deadline: number;
  readonly timeoutMs: number;
}

export function loadTables(plan: Plan, o: LoadOptions): void {
  new Loader(plan, o).load();
}

/**
 * Fills `reprise_invocation_counts` for a pushed-down count: per partition, SQLite's GROUP BY over
 * the indexed columns the count groups by. The view's running/backing-off/ready statuses live in
 * the invoker, not the store, so invoked invocations are read one by one when the view's status is grouped by.
 */
export function loadCounts(p: CountPushdown, o: LoadOptions): void {
  const invoker = new Map(o.context.invoker.map((r) => [r.id, r]));
  const view = p.relation === "sys_invocation";
  const [scan] = storageScans(view ? mapViewScans(p.scans) : p.scans, invocationScan);
  const where: NonNullable<Scan<InvocationScanColumn>["where"]> = scan?.where ?? {};
  const needs = new Set<string>(p.columns);
  const groupBy: InvocationCountColumn[] = [];
  if (needs.has("target_service_name") || needs.has("target")) groupBy.push("service");
  if (needs.has("target_service_key") || needs.has("target")) groupBy.push("key");
  if (needs.has("target_handler_name") || needs.has("target")) groupBy.push("handler");
  if (needs.has("status")) groupBy.push("status");
  const splitInvoked = view && needs.has("status");
  const emit = (g: Partial<Record<InvocationCountColumn, string | null>>, n: number) =>
    o.sink.append("reprise_invocation_counts", {
      target: needs.has("target") ? targetText({ service: g.service!, handler: g.handler!, ...(g.key != null ? { key: g.key } : {}) }) : null,
      target_service_name: g.service ?? null,
      target_service_key: g.key ?? null,
      target_handler_name: g.handler ?? null,
      status: g.status == null ? null : view ? (VIEW_OF_STORED[g.status] ?? g.status) : g.status,
      n: BigInt(n),
    });
  const counted = splitInvoked ? { ...where, status: { ...where.status, notIn: [...(where.status?.notIn ?? []), "invoked"] } } : where;
  for (const tx of o.partitions) {
    for (const g of tx.countInvocations(counted, groupBy)) emit(g, g.n);
    if (!splitInvoked) continue;
    const invoked = { ...where, status: { ...where.status, in: (where.status?.in ?? ["invoked"]).filter((s) => s === "invoked") } };
    for (const row of tx.scanInvocations({ where: invoked }, false)) emit({ ...row, status: derivedStatus(invoker.get(row.id)) }, 1);
  }
}

/** Stored statuses the sys_invocation view names differently. */
const VIEW_OF_STORED: Readonly<Partial<Record<string, string>>> = { inboxed: "pending" };

/** An invoked invocation's status in the view, from what the invoker knows of it. */
function derivedStatus(s: InvokerRow | undefined): string {
  if (s === undefined || s.inFlight) return "running";
  return s.retryCount > 0 ? "backing-off" : "ready";
}

/** Columns of `sys_invocation_status` the indexed columns answer without decoding the status. */
const NARROW_STATUS_COLUMNS = new Set(["partition_key", "id", "status", "target", "target_service_name", "target_service_key", "target_handler_name", "idempotency_key", "created_at", "modified_at"]);
const JOURNAL_PAYLOAD_COLUMNS = new Set(["raw", "completed", "invoked_id", "invoked_target", "sleep_wakeup_at", "promise_name", "entry_json", "entry_lite_json"]);

const SERVICE_TY = { SERVICE: "service", VIRTUAL_OBJECT: "virtual_object", WORKFLOW: "workflow" } as const;

class Loader {
  private rowsSinceCheck = 0;
  private readonly callerTargets = new Map<InvocationId, InvocationTarget | null>();
  private readonly invoker: ReadonlyMap<InvocationId, InvokerRow>;

  constructor(
    private readonly plan: Plan,
    private readonly o: LoadOptions,
  ) {
    this.invoker = new Map(o.context.invoker.map((r) => [r.id, r]));
  }

  load(): void {
    const view = this.plan.get("sys_invocation");
    const status = union(this.plan.get("sys_invocation_status"), view && { ...view, scans: mapViewScans(view.scans) });
    const invokedForState = new Set<InvocationId>();
    if (status) {
      // The view joins the invoker's columns of the invocations it shows.
      this.loadStatus(status, (row) => view && (row.status === "invoked") && invokedForState.add(row.id));
    }
    const state = this.plan.get("sys_invocation_state");
    if (state) this.loadStatusOf("invoked", state, (id) => invokedForState.add(id));
    if (view || state) this.loadInvocationState(invokedForState);
    const journal = this.plan.get("sys_journal");
    if (journal) this.loadJournal(journal);
    if (this.plan.has("sys_journal_events")) this.loadJournalEvents();
    const stateTable = this.plan.get("state");
    if (stateTable) this.loadState(stateTable);
    if (this.plan.has("sys_inbox")) this.loadInbox();
    const idempotency = this.plan.get("sys_idempotency");
    if (idempotency) this.loadIdempotency(idempotency);
    if (this.plan.has("sys_promise")) this.loadPromises();
    if (this.plan.has("sys_keyed_service_status")) this.loadKeyLocks();
    if (this.plan.has("sys_locks")) this.loadLocks();
    if (this.plan.has("sys_service")) for (const row of this.o.context.services) this.emit("sys_service", row);
    if (this.plan.has("sys_deployment")) for (const row of this.o.context.deployments) this.emit("sys_deployment", row);
    if (this.plan.has("partition_state")) for (const row of this.o.context.partitionStates) this.emit("partition_state", row);
    // sys_scheduler, sys_vqueues, sys_vqueue_meta, sys_vqueue_entry_status, sys_user_limits and
    // sys_rules describe virtual queues and concurrency rules, which Reprise does not have: they
    // stay empty, as they are on restate-server 1.7.12 with its default (vqueues off) configuration.
  }

  private emit<T extends TableName>(table: T, row: RowOf<T>): void {
    this.o.sink.append(table, row);
    if (++this.rowsSinceCheck >= 1024) {
      this.rowsSinceCheck = 0;
      if (Date.now() > this.o.deadline) throw new QueryTimeoutError(this.o.timeoutMs);
    }
  }

  private loadStatus(needs: RelationNeeds, onRow: (row: InvocationScanRow) => void): void {
    const withBody = needs.columns === "all" || [...needs.columns].some((c) => !NARROW_STATUS_COLUMNS.has(c));
    const seen = new Set<InvocationId>();
    for (const scan of storageScans(needs.scans, invocationScan)) {
      for (const tx of this.o.partitions) {
        for (const row of tx.scanInvocations(scan, withBody)) {
          if (seen.has(row.id)) continue;
          seen.add(row.id);
          onRow(row);
          this.emit("sys_invocation_status", row.full ? this.statusRow(row.full) : narrowStatusRow(row));
        }
      }
    }
  }

  /** Ids of the invocations in `status` that `needs` may read. */
  private loadStatusOf(status: InvocationStatusKind, needs: RelationNeeds, onId: (id: InvocationId) => void): void {
    for (const scan of storageScans(needs.scans, (s) => invocationScan(s))) {
      const where = { ...scan.where, status: { in: [status] } };
      for (const tx of this.o.partitions) for (const row of tx.scanInvocations({ where }, false)) onId(row.id);
    }
  }

  /**
   * One row per invoked invocation: the invoker's view of it, or, before the invoker has picked it
   * up (or on a node that does not lead its partition), an attempt counted as in flight.
   */
  private loadInvocationState(ids: ReadonlySet<InvocationId>): void {
    for (const id of ids) {
      const s = this.invoker.get(id);
      this.emit("sys_invocation_state", {
        partition_key: partitionKeyOf(id),
        id,
        in_flight: s?.inFlight ?? true,
        retry_count: BigInt(s?.retryCount ?? 0),
        last_start_at: s?.lastStartAt ?? null,
        last_attempt_deployment_id: s?.lastDeploymentId ?? null,
        last_attempt_server: s?.lastAttemptServer ?? null,
        next_retry_at: s?.nextRetryAt ?? null,
        last_failure: s?.lastFailure ?? null,
        last_failure_related_command_index: s?.lastFailureRelatedCommandIndex === undefined ? null : BigInt(s.lastFailureRelatedCommandIndex),
        last_failure_related_command_name: s?.lastFailureRelatedCommandName ?? null,
      });
    }
  }

  private statusRow(inv: InvocationStatus): RowOf<"sys_invocation_status"> {
    const { target, result } = inv;
    const caller = inv.invokedBy === undefined ? undefined : this.callerTarget(inv.invokedBy);
    return {
      ...narrowStatusRow({ ...inv, service: target.service, key: target.key ?? null, handler: target.handler, idempotencyKey: inv.idempotencyKey ?? null }),
      ...(inv.status === "completed" && result
        ? { completion_result: result.kind, completion_failure: result.kind === "failure" ? `[${result.code}] ${result.message}` : null }
        : {}),
      target_service_ty: SERVICE_TY[target.serviceType],
      invoked_by: inv.invokedBy === undefined ? "ingress" : "service",
      invoked_by_id: inv.invokedBy ?? null,
      invoked_by_service_name: caller?.service ?? null,
      invoked_by_target: caller ? targetText(caller) : null,
      restarted_from: inv.restartedFrom ?? null,
      pinned_deployment_id: inv.pinnedDeployment?.deploymentId ?? null,
      pinned_service_protocol_version: inv.pinnedDeployment?.protocolVersion ?? null,
      trace_id: inv.traceContext?.traceId ?? null,
      journal_size: inv.journalLength,
      journal_commands_size: inv.commandCount,
      inboxed_at: inv.inboxedAt ?? null,
      scheduled_at: inv.scheduledAt ?? null,
      scheduled_start_at: inv.executionTime ?? null,
      running_at: inv.runningAt ?? null,
      completed_at: inv.completedAt ?? null,
      completion_retention: inv.completionRetentionMs,
      journal_retention: inv.journalRetentionMs ?? null,
      ...(inv.status === "suspended" && inv.awaiting
        ? {
            suspended_waiting_for_completions: inv.awaiting.completions,
            suspended_waiting_for_signals: inv.awaiting.signals,
            suspended_waiting_future_json: JSON.stringify({
              completions: inv.awaiting.completions,
              signals: inv.awaiting.signals,
              named_signals: inv.awaiting.namedSignals,
            }),
          }
        : {}),
    };
  }

  /** A caller may live on another partition; each is looked up once per query. */
  private callerTarget(id: InvocationId): InvocationTarget | undefined {
    if (!this.callerTargets.has(id)) {
      let found: InvocationTarget | null = null;
      for (const tx of this.o.partitions) {
        const inv = tx.getInvocation(id);
        if (inv) {
          found = inv.target;
          break;
        }
      }
      this.callerTargets.set(id, found);
    }
    return this.callerTargets.get(id) ?? undefined;
  }

  private loadJournal(needs: RelationNeeds): void {
    const withPayload = needs.columns === "all" || [...needs.columns].some((c) => JOURNAL_PAYLOAD_COLUMNS.has(c));
    const withJson = needs.columns === "all" || needs.columns.has("entry_json") || needs.columns.has("entry_lite_json");
    const ids = idsOf(needs.scans, "id");
    const scans: Scan<"invocationId" | "index">[] = ids === undefined ? [{}] : [{ where: { invocationId: { in: ids } } }];
    for (const scan of scans) {
      for (const tx of this.o.partitions) {
        // Entries arrive grouped by invocation; each group is complete before its rows are built.
        let group: JournalScanRow[] = [];
        for (const row of tx.scanJournal(scan, withPayload)) {
          if (group.length > 0 && group[0]!.invocationId !== row.invocationId) {
            this.emitJournal(group, withPayload, withJson);
            group = [];
          }
          group.push(row);
        }
        if (group.length > 0) this.emitJournal(group, withPayload, withJson);
      }
    }
  }

  private emitJournal(group: readonly JournalScanRow[], withPayload: boolean, withJson: boolean): void {
    const id = group[0]!.invocationId;
    const derived = withPayload ? deriveJournal(group as (JournalScanRow & { payload: Uint8Array })[], withJson) : undefined;
    group.forEach((e, i) => {
      this.emit("sys_journal", {
        partition_key: partitionKeyOf(id),
        id,
        index: e.index,
        entry_type: entryType(e.type),
        name: e.name ?? null,
        ...(derived?.[i] ?? {}),
        raw: e.payload ?? null,
        raw_length: BigInt(e.length),
        // Service protocol V4+ journals are Restate's journal version 2.
        version: 2,
        appended_at: e.appendedAt,
      });
    });
  }

  /**
   * Restate records each failed attempt as a `TransientError` event; Reprise's invoker keeps the
   * last one (in memory, on the node leading the partition), shown here in Restate's shape.
   */
  private loadJournalEvents(): void {
    for (const s of this.invoker.values()) {
      if (s.lastFailure === undefined) continue;
      const code = /^\[(\d+)\]/.exec(s.lastFailure)?.[1];
      this.emit("sys_journal_events", {
        partition_key: partitionKeyOf(s.id),
        id: s.id,
        after_journal_entry_index: this.journalLength(s.id),
        appended_at: s.lastFailureAt ?? s.lastStartAt ?? null,
        event_type: "TransientError",
        event_json: JSON.stringify({
          ty: "TransientError",
          error_code: code === undefined ? 500 : Number(code),
          error_message: s.lastFailure,
        }),
      });
    }
  }

  private journalLength(id: InvocationId): number | null {
    for (const tx of this.o.partitions) {
      const inv = tx.getInvocation(id);
      if (inv) return Math.max(0, inv.journalLength - 1);
    }
    return null;
  }

  private loadState(needs: RelationNeeds): void {
    for (const scan of storageScans(needs.scans, stateScan)) {
      for (const tx of this.o.partitions) {
        for (const s of tx.scanState(scan)) {
          this.emit("state", {
            partition_key: partitionKeyForKey(s.service, s.key),
            service_name: s.service,
            service_key: s.key,
            key: s.stateKey,
            key_length: BigInt(Buffer.byteLength(s.stateKey, "utf8")),
            value_utf8: isUtf8(s.value) ? Buffer.from(s.value).toString("utf8") : null,
            value: s.value,
            value_length: BigInt(s.value.length),
          });
        }
      }
    }
  }

  private loadInbox(): void {
    for (const tx of this.o.partitions) {
      for (const e of tx.listInbox()) {
        this.emit("sys_inbox", {
          partition_key: partitionKeyOf(e.invocationId),
          service_name: e.service,
          service_key: e.key,
          id: e.invocationId,
          sequence_number: BigInt(e.seq),
          created_at: tx.getInvocation(e.invocationId)?.createdAt ?? null,
        });
      }
    }
  }

  private loadIdempotency(needs: RelationNeeds): void {
    const scans = storageScans(needs.scans, (s) =>
      invocationScan({
        where: Object.fromEntries(
          Object.entries(s.where).map(([c, v]) => [c === "service_name" ? "target_service_name" : c === "invocation_id" ? "id" : c, v]),
        ),
      }),
    );
    const seen = new Set<InvocationId>();
    for (const scan of scans) {
      // Only invocations with a key: `>= ''` holds for every non-NULL text.
      const where = { ...scan.where, idempotencyKey: { ...scan.where?.idempotencyKey, min: { value: "", inclusive: true } } };
      for (const tx of this.o.partitions) {
        for (const row of tx.scanInvocations({ where }, false)) {
          if (seen.has(row.id)) continue;
          seen.add(row.id);
          this.emit("sys_idempotency", {
            partition_key: partitionKeyOf(row.id),
            service_name: row.service,
            service_key: row.key,
            service_handler: row.handler,
            idempotency_key: row.idempotencyKey,
            invocation_id: row.id,
          });
        }
      }
    }
  }

  private loadPromises(): void {
    for (const tx of this.o.partitions) {
      for (const p of tx.listPromises()) {
        const { entry } = p;
        const value = entry.state === "resolved" ? (entry.value ?? new Uint8Array()) : null;
        this.emit("sys_promise", {
          partition_key: partitionKeyForKey(p.service, p.key),
          service_name: p.service,
          service_key: p.key,
          key: p.name,
          completed: entry.state !== "pending",
          completion_success_value: value,
          completion_success_value_utf8: value !== null && isUtf8(value) ? Buffer.from(value).toString("utf8") : null,
          completion_failure: entry.state === "rejected" && entry.failure ? `[${entry.failure.code}] ${entry.failure.message}` : null,
        });
      }
    }
  }

  private loadKeyLocks(): void {
    for (const tx of this.o.partitions) {
      for (const l of tx.listKeyLocks()) {
        this.emit("sys_keyed_service_status", {
          partition_key: partitionKeyForKey(l.service, l.key),
          service_name: l.service,
          service_key: l.key,
          invocation_id: l.invocationId,
        });
      }
    }
  }

  /** The exclusive lock of each virtual object or workflow key, held by the invocation running on it. */
  private loadLocks(): void {
    for (const tx of this.o.partitions) {
      for (const l of tx.listKeyLocks()) {
        const holder = tx.getInvocation(l.invocationId);
        this.emit("sys_locks", {
          partition_key: partitionKeyForKey(l.service, l.key),
          lock_name: `${l.service}/${l.key}`,
          acquired_at: holder?.runningAt ?? holder?.createdAt ?? null,
          acquired_by: l.invocationId,
        });
      }
    }
  }
}

/** Restate's target text: `Service/handler`, or `Service/key/handler` for keyed services. */
function targetText(t: { service: string; key?: string | undefined; handler: string }): string {
  return t.key === undefined ? `${t.service}/${t.handler}` : `${t.service}/${t.key}/${t.handler}`;
}

/** The status columns the index answers alone. */
function narrowStatusRow(row: Omit<InvocationScanRow, "full">): RowOf<"sys_invocation_status"> {
  return {
    partition_key: partitionKeyOf(row.id),
    id: row.id,
    status: row.status,
    target: targetText({ service: row.service, handler: row.handler, ...(row.key !== null ? { key: row.key } : {}) }),
    target_service_name: row.service,
    target_service_key: row.key,
    target_handler_name: row.handler,
    idempotency_key: row.idempotencyKey,
    created_at: row.createdAt,
    modified_at: row.modifiedAt,
  };
}

function union(a: RelationNeeds | undefined, b: RelationNeeds | undefined): RelationNeeds | undefined {
  if (!a || !b) return a ?? b;
  return {
    columns: a.columns === "all" || b.columns === "all" ? "all" : new Set([...a.columns, ...b.columns]),
    scans: a.scans === "all" || b.scans === "all" ? "all" : [...a.scans, ...b.scans],
  };
}

/** The view's derived statuses as stored statuses: a superset where several map to `invoked`. */
const VIEW_STATUS: Readonly<Record<string, InvocationStatusKind>> = {
  pending: "inboxed",
  scheduled: "scheduled",
  completed: "completed",
  suspended: "suspended",
  paused: "paused",
  running: "invoked",
  "backing-off": "invoked",
  ready: "invoked",
};
const AMBIGUOUS_VIEW_STATUS = new Set(["running", "backing-off", "ready"]);

function mapViewScans(scans: RelationNeeds["scans"]): RelationNeeds["scans"] {
  if (scans === "all") return scans;
  return scans.map((s) => {
    const status = s.where.status;
    if (!status) return s;
    const mapped: Constraint = {
      ...(status.in ? { in: [...new Set(status.in.flatMap((v) => (typeof v === "string" && VIEW_STATUS[v] ? [VIEW_STATUS[v]!] : [])))] } : {}),
      ...(status.notIn
        ? { notIn: status.notIn.flatMap((v) => (typeof v === "string" && VIEW_STATUS[v] && !AMBIGUOUS_VIEW_STATUS.has(v) ? [VIEW_STATUS[v]!] : [])) }
        : {}),
    };
    return { ...s, where: { ...s.where, status: mapped } };
  });
}

/** The plan's scans as storage scans ([{}] for a whole-table read). */
function storageScans<C extends string>(scans: RelationNeeds["scans"], translate: (s: RelationScan) => Scan<C>): Scan<C>[] {
  return scans === "all" ? [{}] : scans.map(translate);
}

/** The values a column is limited to across all scans, or undefined when some scan does not limit it. */
function idsOf(scans: RelationNeeds["scans"], column: string): string[] | undefined {
  if (scans === "all") return undefined;
  const ids = new Set<string>();
  for (const s of scans) {
    const c = s.where[column];
    if (!c?.in) return undefined;
    for (const v of c.in) ids.add(String(v));
  }
  return [...ids];
}

const INVOCATION_SCAN_COLUMN: Readonly<Record<string, InvocationScanColumn>> = {
  id: "id",
  status: "status",
  target_service_name: "service",
  target_service_key: "key",
  target_handler_name: "handler",
  idempotency_key: "idempotencyKey",
  created_at: "createdAt",
  modified_at: "modifiedAt",
};

function invocationScan(s: RelationScan): Scan<InvocationScanColumn> {
  const where: Partial<Record<InvocationScanColumn, ColumnConstraint>> = {};
  for (const [column, c] of Object.entries(s.where)) {
    if (column === "target") {
      // `Service/...`: services cannot contain '/', so the service is the text before the first one.
      if (c.in) where.service = { in: c.in.map((v) => String(v).split("/")[0]!) };
      continue;
    }
    const to = INVOCATION_SCAN_COLUMN[column];
    if (!to) continue;
    where[to] = column === "created_at" || column === "modified_at" ? millisecondConstraint(c) : textConstraint(c);
  }
  const orderBy = s.orderBy?.map((o) => ({ column: INVOCATION_SCAN_COLUMN[o.column]!, desc: o.desc }));
  return { where, ...(orderBy ? { orderBy } : {}), ...(s.limit !== undefined ? { limit: s.limit } : {}) };
}

const STATE_SCAN_COLUMN: Readonly<Record<string, StateScanColumn>> = { service_name: "service", service_key: "key", key: "stateKey" };

function stateScan(s: RelationScan): Scan<StateScanColumn> {
  const where: Partial<Record<StateScanColumn, ColumnConstraint>> = {};
  for (const [column, c] of Object.entries(s.where)) {
    const to = STATE_SCAN_COLUMN[column];
    if (to) where[to] = textConstraint(c);
  }
  return { where };
}

function textConstraint(c: Constraint): ColumnConstraint {
  const text = (v: PlanValue) => String(v);
  return {
    ...(c.in ? { in: c.in.map(text) } : {}),
    ...(c.notIn ? { notIn: c.notIn.map(text) } : {}),
    ...(c.min ? { min: { value: text(c.min.value), inclusive: c.min.inclusive } } : {}),
    ...(c.max ? { max: { value: text(c.max.value), inclusive: c.max.inclusive } } : {}),
  };
}

/**
 * Bounds in microseconds (DuckDB's) as the same predicate over stored milliseconds: with m the
 * stored value, m*1000 > x ⇔ m > ⌊x/1000⌋, m*1000 ≥ x ⇔ m ≥ ⌈x/1000⌉, and mirrored for the upper bound.
 */
function millisecondConstraint(c: Constraint): ColumnConstraint {
  const floor = (us: bigint) => Number(us >= 0n ? us / 1000n : -((-us + 999n) / 1000n));
  const ceil = (us: bigint) => -floor(-us);
  const out: { -readonly [K in keyof ColumnConstraint]: ColumnConstraint[K] } = {};
  if (c.min) out.min = c.min.inclusive ? { value: ceil(c.min.value as bigint), inclusive: true } : { value: floor(c.min.value as bigint), inclusive: false };
  if (c.max) out.max = c.max.inclusive ? { value: floor(c.max.value as bigint), inclusive: true } : { value: ceil(c.max.value as bigint), inclusive: false };
  if (c.in) out.in = c.in.flatMap((v) => ((v as bigint) % 1000n === 0n ? [Number((v as bigint) / 1000n)] : []));
  if (c.notIn) out.notIn = c.notIn.flatMap((v) => ((v as bigint) % 1000n === 0n ? [Number((v as bigint) / 1000n)] : []));
  return out;
}
