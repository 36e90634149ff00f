/**
 * The introspection tables, with Restate's names, columns and column order (admin API v2). Reprise
 * fills what it stores and leaves NULL what it does not track (vqueues, tracing, deployment pinning).
 */

/** How a column is stored; each maps to one DuckDB type (see `DUCKDB_TYPE`). */
export type ColumnKind = "utf8" | "u32" | "u64" | "bool" | "timestamp" | "blob" | "duration" | "u32list" | "utf8list";

/** JS value of a cell per kind: timestamps and durations in milliseconds. */
export interface CellValue {
  utf8: string;
  u32: number;
  u64: bigint;
  bool: boolean;
  timestamp: number;
  blob: Uint8Array;
  duration: number;
  u32list: readonly number[];
  utf8list: readonly string[];
}

type Columns = Readonly<Record<string, ColumnKind>>;

/** A row as the loaders build it: columns left out are NULL. */
export type RowOf<C extends Columns> = { readonly [K in keyof C]?: CellValue[C[K]] | null };

const DUCKDB_TYPE: Readonly<Record<ColumnKind, string>> = {
  utf8: "VARCHAR",
  u32: "UINTEGER",
  u64: "UBIGINT",
  bool: "BOOLEAN",
  timestamp: "TIMESTAMPTZ",
  blob: "BLOB",
  duration: "INTERVAL",
  u32list: "UINTEGER[]",
  utf8list: "VARCHAR[]",
};

export const SYS_INVOCATION_STATUS = {
  partition_key: "u64",
  id: "utf8",
  vqueue_id: "utf8",
  status: "utf8",
  completion_result: "utf8",
  completion_failure: "utf8",
  target: "utf8",
  target_service_name: "utf8",
  target_service_key: "utf8",
  target_handler_name: "utf8",
  target_service_ty: "utf8",
  scope: "utf8",
  limit_key: "utf8",
  idempotency_key: "utf8",
  invoked_by: "utf8",
  invoked_by_id: "utf8",
  invoked_by_subscription_id: "utf8",
  invoked_by_service_name: "utf8",
  invoked_by_target: "utf8",
  restarted_from: "utf8",
  pinned_deployment_id: "utf8",
  pinned_service_protocol_version: "u32",
  trace_id: "utf8",
  journal_size: "u32",
  journal_commands_size: "u32",
  created_at: "timestamp",
  created_using_restate_version: "utf8",
  modified_at: "timestamp",
  inboxed_at: "timestamp",
  scheduled_at: "timestamp",
  scheduled_start_at: "timestamp",
  running_at: "timestamp",
  completed_at: "timestamp",
  completion_retention: "duration",
  journal_retention: "duration",
  suspended_waiting_for_completions: "u32list",
  suspended_waiting_for_signals: "u32list",
  suspended_waiting_future_json: "utf8",
} as const satisfies Columns;

export const SYS_INVOCATION_STATE = {
  partition_key: "u64",
  id: "utf8",
  in_flight: "bool",
  retry_count: "u64",
  last_start_at: "timestamp",
  last_attempt_deployment_id: "utf8",
  last_attempt_server: "utf8",
  next_retry_at: "timestamp",
  last_failure: "utf8",
  last_failure_error_code: "utf8",
  last_failure_related_command_index: "u64",
  last_failure_related_command_name: "utf8",
  last_failure_related_command_type: "utf8",
  last_failure_related_entry_index: "u64",
  last_failure_related_entry_name: "utf8",
  last_failure_related_entry_type: "utf8",
  last_awaiting_on_future_json: "utf8",
} as const satisfies Columns;

export const SYS_JOURNAL = {
  partition_key: "u64",
  id: "utf8",
  index: "u32",
  entry_type: "utf8",
  name: "utf8",
  completed: "bool",
  invoked_id: "utf8",
  invoked_target: "utf8",
  sleep_wakeup_at: "timestamp",
  promise_name: "utf8",
  raw: "blob",
  raw_length: "u64",
  version: "u32",
  entry_json: "utf8",
  entry_lite_json: "utf8",
  appended_at: "timestamp",
} as const satisfies Columns;

export const STATE = {
  partition_key: "u64",
  scope: "utf8",
  service_name: "utf8",
  service_key: "utf8",
  key: "utf8",
  key_length: "u64",
  value_utf8: "utf8",
  value: "blob",
  value_length: "u64",
} as const satisfies Columns;

export const SYS_INBOX = {
  partition_key: "u64",
  service_name: "utf8",
  service_key: "utf8",
  id: "utf8",
  sequence_number: "u64",
  created_at: "timestamp",
} as const satisfies Columns;

export const SYS_IDEMPOTENCY = {
  partition_key: "u64",
  service_name: "utf8",
  service_key: "utf8",
  service_handler: "utf8",
  idempotency_key: "utf8",
  invocation_id: "utf8",
} as const satisfies Columns;

export const SYS_PROMISE = {
  partition_key: "u64",
  scope: "utf8",
  service_name: "utf8",
  service_key: "utf8",
  key: "utf8",
  completed: "bool",
  completion_success_value: "blob",
  completion_success_value_utf8: "utf8",
  completion_failure: "utf8",
} as const satisfies Columns;

export const SYS_KEYED_SERVICE_STATUS = {
  partition_key: "u64",
  service_name: "utf8",
  service_key: "utf8",
  invocation_id: "utf8",
} as const satisfies Columns;

export const SYS_SERVICE = {
  name: "utf8",
  revision: "u64",
  public: "bool",
  ty: "utf8",
  deployment_id: "utf8",
} as const satisfies Columns;

export const SYS_DEPLOYMENT = {
  id: "utf8",
  ty: "utf8",
  endpoint: "utf8",
  created_at: "timestamp",
  min_service_protocol_version: "u32",
  max_service_protocol_version: "u32",
  services: "utf8list",
} as const satisfies Columns;

export const TABLES = {
  sys_invocation_status: SYS_INVOCATION_STATUS,
  sys_invocation_state: SYS_INVOCATION_STATE,
  sys_journal: SYS_JOURNAL,
  state: STATE,
  sys_inbox: SYS_INBOX,
  sys_idempotency: SYS_IDEMPOTENCY,
  sys_promise: SYS_PROMISE,
  sys_keyed_service_status: SYS_KEYED_SERVICE_STATUS,
  sys_service: SYS_SERVICE,
  sys_deployment: SYS_DEPLOYMENT,
} as const;

export type TableName = keyof typeof TABLES;
export type TableRows = { readonly [T in TableName]: readonly RowOf<(typeof TABLES)[T]>[] };

const TABLE_NAMES = Object.keys(TABLES) as TableName[];

export function isTableName(name: string): name is TableName {
  return Object.hasOwn(TABLES, name);
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** `sys_invocation` is Restate's view: status joined with the invoker's state, and a derived status. */
const SYS_INVOCATION_VIEW = `CREATE VIEW sys_invocation AS SELECT
  ${Object.keys(SYS_INVOCATION_STATUS)
    .filter((c) => c !== "partition_key" && c !== "status" && c !== "completion_result" && c !== "completion_failure")
    .map((c) => `ss.${quote(c)}`)
    .join(", ")},
  ${Object.keys(SYS_INVOCATION_STATE)
    .filter((c) => c !== "partition_key" && c !== "id" && c !== "in_flight")
    .map((c) => `sis.${quote(c)}`)
    .join(", ")},
  CASE
    WHEN ss.status = 'inboxed' THEN 'pending'
    WHEN ss.status = 'scheduled' THEN 'scheduled'
    WHEN ss.status = 'completed' THEN 'completed'
    WHEN ss.status = 'suspended' THEN 'suspended'
    WHEN ss.status = 'paused' THEN 'paused'
    WHEN sis.in_flight THEN 'running'
    WHEN ss.status = 'invoked' AND sis.retry_count > 0 THEN 'backing-off'
    ELSE 'ready'
  END AS status,
  ss.completion_result,
  ss.completion_failure
FROM sys_invocation_state sis
RIGHT JOIN sys_invocation_status ss ON ss.id = sis.id`;

/** Statements that create every table (empty) and the view. */
export const SCHEMA_DDL: readonly string[] = [
  ...TABLE_NAMES.map(
    (name) =>
      `CREATE TABLE ${quote(name)} (${Object.entries(TABLES[name] as Columns)
        .map(([column, kind]) => `${quote(column)} ${DUCKDB_TYPE[kind]}`)
        .join(", ")})`,
  ),
  SYS_INVOCATION_VIEW,
];
