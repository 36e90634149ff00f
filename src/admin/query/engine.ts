import {
  type DuckDBArrayValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBIntervalValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  type DuckDBAppender,
  type DuckDBBlobValue,
  type DuckDBConnection,
  type DuckDBDateValue,
  type DuckDBListValue,
  type DuckDBType,
  type DuckDBValue,
} from "@duckdb/node-api";
import type { SchemaView } from "../../schema/schema.ts";
import type { InvokerInvocationState } from "../../invoker/invoker.ts";
import type { ReadOnlyPartitionStore } from "../../storage/partition-store.ts";
import type { InvocationId } from "../../types/ids.ts";
import { BadRequestError, errorMessage, RepriseError } from "../../types/errors.ts";
import type { QueryResult, Value, ValueType } from "./result.ts";
import { buildRows, readPartition } from "./rows.ts";
import { isTableName, SCHEMA_DDL, TABLES, type CellValue, type ColumnKind, type TableName, type TableRows } from "./tables.ts";

/** Where the tables come from: every partition store this node holds, and the schema registry. */
export interface QuerySources {
  stores(): Iterable<ReadOnlyPartitionStore>;
  schema(): SchemaView;
  /** The local invoker's view of an invocation it drives (retries, last failure), if any. */
  invokerState?(id: InvocationId): InvokerInvocationState | undefined;
}

export interface QueryEngineOptions {
  /** A query still running after this long is interrupted. */
  readonly timeoutMs: number;
}

/** Each query gets a throwaway in-memory DuckDB that cannot touch files, the network or its own settings. */
const DUCKDB_CONFIG: Record<string, string> = {
  enable_external_access: "false",
  autoinstall_known_extensions: "false",
  autoload_known_extensions: "false",
  threads: "1",
  memory_limit: "512MB",
};

/**
 * SQL over the partition stores, answered by DuckDB (a real engine whose Postgres-like dialect is
 * close to the DataFusion dialect Restate's clients write, and whose result columns are typed).
 * Per query: create the tables, copy in the rows of the tables the query reads (each partition
 * from one read snapshot), run the query.
 */
export class QueryEngine {
  constructor(
    private readonly sources: QuerySources,
    private readonly options: QueryEngineOptions = { timeoutMs: 30_000 },
  ) {}

  async execute(query: string): Promise<QueryResult> {
    const sql = translateDialect(query);
    const instance = await DuckDBInstance.create(":memory:", DUCKDB_CONFIG);
    try {
      const connection = await instance.connect();
      try {
        for (const ddl of SCHEMA_DDL) await connection.run(ddl);
        await connection.run("SET lock_configuration = true");
        await this.load(connection, referencedTables(connection, sql));
        return await this.run(connection, sql);
      } finally {
        connection.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  }

  private async load(connection: DuckDBConnection, tables: ReadonlySet<TableName>): Promise<void> {
    if (tables.size === 0) return;
    const snapshots = [...this.sources.stores()].map((store) => readPartition(store, tables));
    const rows = buildRows(snapshots, this.sources.schema(), (id) => this.sources.invokerState?.(id));
    for (const table of tables) await appendRows(connection, table, rows);
  }

  private async run(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, this.options.timeoutMs);
    try {
      const prepared = await connection.prepare(sql);
      const reader = await prepared.runAndReadAll();
      const types = reader.columnTypes().map(valueType);
      const names = reader.columnNames();
      return {
        columns: names.map((name, i) => ({ name, type: types[i]! })),
        rows: reader.getRows().map((row) => row.map((v, i) => toValue(v, types[i]!))),
      };
    } catch (e) {
      if (timedOut) throw new RepriseError("query_timeout", `query interrupted after ${this.options.timeoutMs} ms`, true, 503);
      if (e instanceof RepriseError) throw e;
      throw queryError(errorMessage(e));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** DuckDB's errors about the statement are the client's to fix; resource or internal failures are ours. */
function queryError(message: string): RepriseError {
  if (/^(INTERNAL|Out of Memory) Error/.test(message)) return new RepriseError("query_failed", message, false, 500);
  return new BadRequestError(message, "invalid_query");
}

/**
 * The two DataFusion-isms the `restate` CLI's own queries use, rewritten for DuckDB:
 * - DataFusion resolves a column qualified by an alias used inside an unaliased subquery; the CLI
 *   counts invocations as `SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT n) WHERE
 *   inv.…`, so that subquery gets the alias `inv`.
 * - `first_value(x [ORDER BY y])` is an aggregate in DataFusion (`restate services status`), a
 *   window function in DuckDB, whose aggregate is `first`. Calls without OVER are rewritten.
 */
function translateDialect(sql: string): string {
  return sql
    .replace(/(\(\s*SELECT\s+\*\s+FROM\s+sys_invocation\s+inv\s+LIMIT\s+\d+\s*\))(?!\s*(AS\s+)?inv\b)/gi, "$1 inv")
    .replace(/\bfirst_value(\s*\([^()]*\))(?!\s*OVER\b)/gi, "first$1");
}

/** The base tables the query reads (views resolved); nothing for queries that do not bind. */
function referencedTables(connection: DuckDBConnection, sql: string): Set<TableName> {
  let names: readonly string[];
  try {
    names = connection.getTableNames(sql, false);
  } catch {
    // The statement does not bind; running it reports why, with DuckDB's message.
    return new Set();
  }
  return new Set(names.filter(isTableName));
}

async function appendRows(connection: DuckDBConnection, table: TableName, rows: TableRows): Promise<void> {
  const columns = Object.entries(TABLES[table]) as [string, ColumnKind][];
  const appender = await connection.createAppender(table);
  try {
    for (const row of rows[table] as readonly Record<string, CellValue[ColumnKind] | null | undefined>[]) {
      for (const [column, kind] of columns) append(appender, kind, row[column] ?? null);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

function append(appender: DuckDBAppender, kind: ColumnKind, value: CellValue[ColumnKind] | null): void {
  if (value === null) return appender.appendNull();
  switch (kind) {
    case "utf8":
      return appender.appendVarchar(value as string);
    case "u32":
      return appender.appendUInteger(value as number);
    case "u64":
      return appender.appendUBigInt(value as bigint);
    case "bool":
      return appender.appendBoolean(value as boolean);
    case "timestamp":
      return appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(value as number) * 1000n));
    case "blob":
      return appender.appendBlob(value as Uint8Array);
    case "duration":
      return appender.appendInterval(new DuckDBIntervalValue(0, 0, BigInt(value as number) * 1000n));
    case "u32list":
    case "utf8list":
      return appender.appendList(value as readonly (number | string)[]);
  }
}

const INT_TYPES: Partial<Record<DuckDBTypeId, ValueType>> = {
  [DuckDBTypeId.TINYINT]: { kind: "int", bits: 8, signed: true },
  [DuckDBTypeId.SMALLINT]: { kind: "int", bits: 16, signed: true },
  [DuckDBTypeId.INTEGER]: { kind: "int", bits: 32, signed: true },
  [DuckDBTypeId.BIGINT]: { kind: "int", bits: 64, signed: true },
  [DuckDBTypeId.HUGEINT]: { kind: "int", bits: 64, signed: true },
  [DuckDBTypeId.UTINYINT]: { kind: "int", bits: 8, signed: false },
  [DuckDBTypeId.USMALLINT]: { kind: "int", bits: 16, signed: false },
  [DuckDBTypeId.UINTEGER]: { kind: "int", bits: 32, signed: false },
  [DuckDBTypeId.UBIGINT]: { kind: "int", bits: 64, signed: false },
  [DuckDBTypeId.UHUGEINT]: { kind: "int", bits: 64, signed: false },
};

/** DuckDB's column type → the type clients see; types without an Arrow peer here are rendered as text. */
function valueType(t: DuckDBType): ValueType {
  const int = INT_TYPES[t.typeId];
  if (int) return int;
  switch (t.typeId) {
    case DuckDBTypeId.SQLNULL:
      return { kind: "null" };
    case DuckDBTypeId.BOOLEAN:
      return { kind: "bool" };
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.DECIMAL:
      return { kind: "float" };
    case DuckDBTypeId.BLOB:
      return { kind: "binary" };
    case DuckDBTypeId.TIMESTAMP_TZ:
      return { kind: "timestamp", utc: true };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return { kind: "timestamp", utc: false };
    case DuckDBTypeId.DATE:
      return { kind: "date" };
    case DuckDBTypeId.INTERVAL:
      return { kind: "duration" };
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return { kind: "list", item: valueType(t.valueType) };
    default:
      return { kind: "utf8" };
  }
}

const I64 = { min: -(1n << 63n), max: (1n << 63n) - 1n };
const U64_MAX = (1n << 64n) - 1n;
const DAY_MS = 86_400_000;

function toValue(v: DuckDBValue, type: ValueType): Value {
  if (v === null) return null;
  switch (type.kind) {
    case "null":
      return null;
    case "bool":
      return v as boolean;
    case "int":
      return type.bits === 64 ? checkedInt64(v as bigint, type.signed) : (v as number);
    case "float":
      return v instanceof DuckDBDecimalValue ? v.toDouble() : (v as number);
    case "binary":
      return (v as DuckDBBlobValue).bytes;
    case "timestamp":
      return timestampMs(v);
    case "date":
      return (v as DuckDBDateValue).days;
    case "duration": {
      // Arrow durations have no months; a month counts as 30 days, as in DataFusion's casts.
      const i = v as DuckDBIntervalValue;
      return (i.months * 30 + i.days) * DAY_MS + Number(i.micros) / 1000;
    }
    case "list":
      return (v as DuckDBListValue | DuckDBArrayValue).items.map((item) => toValue(item, type.item));
    case "utf8":
      return typeof v === "string" ? v : String(v);
  }
}

/** HUGEINT sums are narrowed to 64 bits like DataFusion's; a value that does not fit is an error, not a wrap. */
function checkedInt64(v: bigint, signed: boolean): bigint {
  const ok = signed ? v >= I64.min && v <= I64.max : v >= 0n && v <= U64_MAX;
  if (!ok) throw new BadRequestError(`value ${v} does not fit a 64-bit integer column; cast it to DOUBLE or VARCHAR`, "invalid_query");
  return v;
}

function timestampMs(v: DuckDBValue): number {
  if (v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue) return Math.floor(Number(v.micros) / 1000);
  if (v instanceof DuckDBTimestampMillisecondsValue) return Number(v.millis);
  if (v instanceof DuckDBTimestampSecondsValue) return Number(v.seconds) * 1000;
  if (v instanceof DuckDBTimestampNanosecondsValue) return Math.floor(Number(v.nanos) / 1e6);
  throw new RepriseError("query_failed", `unexpected timestamp value ${String(v)}`, false, 500);
}
