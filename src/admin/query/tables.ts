/**
 * The introspection relations as DuckDB sees them, derived from the 1.7.12 catalogue: one table per
 * base table (same columns, same order), the `sys_invocation` view, and Restate's
 * `information_schema.columns`/`.tables` (with Restate's Arrow type names) as plain tables.
 */
import { CATALOGUE, NOT_NULL, VIEWS } from "./catalogue.ts";

/**
 * Every relation: 1.7.12's; `sys_idempotency`, which Restate had before 1.7 and Reprise keeps for
 * the queries written against it; and `partition_state`, the table later Restate versions answer
 * with each partition replica's report (mode, epoch, applied, durable and archived LSN), here with
 * Reprise's text type for its strings.
 */
export const RELATIONS = {
  ...CATALOGUE,
  partition_state: {
    partition_id: "UInt32",
    plain_node_id: "LargeUtf8",
    gen_node_id: "LargeUtf8",
    target_mode: "LargeUtf8",
    effective_mode: "LargeUtf8",
    updated_at: 'Timestamp(ms, "+00:00")',
    leader_epoch: "UInt64",
    leader: "LargeUtf8",
    applied_log_lsn: "UInt64",
    last_record_applied_at: 'Timestamp(ms, "+00:00")',
    replay_status: "LargeUtf8",
    durable_log_lsn: "UInt64",
    archived_log_lsn: "UInt64",
    target_tail_lsn: "UInt64",
  },
  sys_idempotency: {
    partition_key: "UInt64",
    service_name: "LargeUtf8",
    service_key: "LargeUtf8",
    service_handler: "LargeUtf8",
    idempotency_key: "LargeUtf8",
    invocation_id: "LargeUtf8",
  },
} as const;

/** Tables only Reprise's own rewritten statements read (not listed in information_schema). */
const INTERNAL_TABLES = {
  // Invocation counts per group, summed by a count pushed to the stores (counts.ts).
  reprise_invocation_counts: {
    target: "LargeUtf8",
    target_service_name: "LargeUtf8",
    target_service_key: "LargeUtf8",
    target_handler_name: "LargeUtf8",
    status: "LargeUtf8",
    n: "UInt64",
  },
} as const;

const ALL_TABLES = { ...RELATIONS, ...INTERNAL_TABLES } as const;

type Relations = typeof RELATIONS;
type AllTables = typeof ALL_TABLES;
export type RelationName = keyof Relations;
export type ArrowTypeName = AllTables[keyof AllTables][keyof AllTables[keyof AllTables]];

/** JS value of a cell per Arrow type: timestamps and durations in milliseconds. */
export interface CellOfType {
  UInt64: bigint;
  UInt32: number;
  LargeUtf8: string;
  LargeBinary: Uint8Array;
  Boolean: boolean;
  'Timestamp(ms, "+00:00")': number;
  "Duration(ms)": number;
  "List(UInt32)": readonly number[];
  "List(LargeUtf8)": readonly string[];
}

export type Cell = CellOfType[keyof CellOfType];

export type TableName = Exclude<keyof AllTables, "sys_invocation">;

/** A row as the loaders build it: columns left out are NULL. */
export type RowOf<T extends TableName> = {
  -readonly [K in keyof AllTables[T]]?: AllTables[T][K] extends keyof CellOfType ? CellOfType[AllTables[T][K]] | null : never;
};

export const TABLE_NAMES = (Object.keys(ALL_TABLES) as (keyof AllTables)[]).filter((n): n is TableName => !(VIEWS as readonly string[]).includes(n));

export function isTableName(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

/** Columns of a relation or table, in `SELECT *` order, with their Arrow type names. */
export function columnsOf(relation: keyof AllTables): [string, ArrowTypeName][] {
  return Object.entries(ALL_TABLES[relation]) as [string, ArrowTypeName][];
}

export const DUCKDB_TYPE: Readonly<Record<ArrowTypeName, string>> = {
  UInt64: "UBIGINT",
  UInt32: "UINTEGER",
  LargeUtf8: "VARCHAR",
  LargeBinary: "BLOB",
  Boolean: "BOOLEAN",
  'Timestamp(ms, "+00:00")': "TIMESTAMPTZ",
  "Duration(ms)": "INTERVAL",
  "List(UInt32)": "UINTEGER[]",
  "List(LargeUtf8)": "VARCHAR[]",
};

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * Restate's derived status: `pending` for inboxed, and an invoked invocation is `running` while an
 * attempt is in flight, `backing-off` between failed attempts, `ready` before the invoker has it.
 */
const DERIVED_STATUS = `CASE
    WHEN ss.status = 'inboxed' THEN 'pending'
    WHEN ss.status IN ('scheduled', 'completed', 'suspended', 'paused') THEN ss.status
    WHEN sis.in_flight THEN 'running'
    WHEN ss.status = 'invoked' AND sis.retry_count > 0 THEN 'backing-off'
    ELSE 'ready'
  END`;

/** DERIVED_STATUS for one row of each table (`sis` absent where the view's outer join has none). */
function derivedStatus(ss: RowOf<"sys_invocation_status">, sis: RowOf<"sys_invocation_state"> | undefined): string | null {
  if (ss.status === "inboxed") return "pending";
  if (ss.status === "scheduled" || ss.status === "completed" || ss.status === "suspended" || ss.status === "paused") return ss.status;
  if (sis?.in_flight === true) return "running";
  if (ss.status === "invoked" && sis?.retry_count != null && sis.retry_count > 0n) return "backing-off";
  return "ready";
}

/** The invoker's columns of the view, which the status table does not have. */
const STATE_ONLY_COLUMNS = new Set(Object.keys(CATALOGUE.sys_invocation_state).filter((c) => !(c in CATALOGUE.sys_invocation_status)));

/** `sys_invocation`: each column from the status table, except the invoker's columns and the derived status. */
function invocationView(): string {
  const select = Object.keys(CATALOGUE.sys_invocation).map((c) => {
    if (c === "status") return `${DERIVED_STATUS} AS status`;
    return `${STATE_ONLY_COLUMNS.has(c) ? "sis" : "ss"}.${quote(c)}`;
  });
  return `CREATE VIEW sys_invocation AS SELECT ${select.join(", ")}
FROM sys_invocation_state sis RIGHT JOIN sys_invocation_status ss ON ss.id = sis.id`;
}

/** One row of the view as DuckDB computes it from a status row and the invoker's row of the same invocation, if any. */
export function invocationViewRow(ss: RowOf<"sys_invocation_status">, sis: RowOf<"sys_invocation_state"> | undefined): Record<string, Cell | null> {
  const status = ss as Record<string, Cell | null | undefined>;
  const state = (sis ?? {}) as Record<string, Cell | null | undefined>;
  const row: Record<string, Cell | null> = {};
  for (const c of Object.keys(CATALOGUE.sys_invocation)) row[c] = c === "status" ? derivedStatus(ss, sis) : ((STATE_ONLY_COLUMNS.has(c) ? state[c] : status[c]) ?? null);
  return row;
}

/** Where `information_schema.columns`/`.tables` are answered from: DuckDB's own cannot be replaced. */
export const INFORMATION_SCHEMA_TABLES = { columns: "restate_information_schema_columns", tables: "restate_information_schema_tables" } as const;

/** DataFusion's information_schema, listing only the Restate relations, as 1.7.12 answers it. */
function informationSchema(): string[] {
  const relations = Object.keys(RELATIONS) as RelationName[];
  const columns = relations.flatMap((relation) =>
    columnsOf(relation).map(([column, type], i) => {
      const nullable = (NOT_NULL as Partial<Record<RelationName, readonly string[]>>)[relation]?.includes(column) ? "NO" : "YES";
      return `('restate', 'public', ${literal(relation)}, ${literal(column)}, ${i}, NULL, ${literal(nullable)}, ${literal(type)})`;
    }),
  );
  const tables = relations.map(
    (relation) => `('restate', 'public', ${literal(relation)}, ${literal((VIEWS as readonly string[]).includes(relation) ? "VIEW" : "BASE TABLE")})`,
  );
  return [
    `CREATE TABLE ${INFORMATION_SCHEMA_TABLES.columns} (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR,
      ordinal_position UBIGINT, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR, character_maximum_length UBIGINT,
      character_octet_length UBIGINT, numeric_precision UBIGINT, numeric_precision_radix UBIGINT, numeric_scale UBIGINT,
      datetime_precision UBIGINT, interval_type VARCHAR)`,
    `INSERT INTO ${INFORMATION_SCHEMA_TABLES.columns} (table_catalog, table_schema, table_name, column_name, ordinal_position,
      column_default, is_nullable, data_type) VALUES ${columns.join(", ")}`,
    `CREATE TABLE ${INFORMATION_SCHEMA_TABLES.tables} (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR)`,
    `INSERT INTO ${INFORMATION_SCHEMA_TABLES.tables} VALUES ${tables.join(", ")}`,
  ];
}

/** Statements that create every table (empty), the view and the information schema. */
export const SCHEMA_DDL: readonly string[] = [
  ...TABLE_NAMES.map(
    (name) => `CREATE TABLE ${quote(name)} (${columnsOf(name).map(([column, type]) => `${quote(column)} ${DUCKDB_TYPE[type]}`).join(", ")})`,
  ),
  invocationView(),
  ...informationSchema(),
];
