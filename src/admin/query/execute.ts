/**
 * Runs one query on a worker's DuckDB: prepare (DuckDB checks it), plan what it reads, load just
 * that from the partition snapshots, run it, encode the answer, empty the tables again. A lookup of
 * one invocation by id is answered from the loaded rows without DuckDB (point-lookup.ts).
 */
import {
  blobValue,
  DuckDBDataChunk,
  listValue,
  type DuckDBAppender,
  type DuckDBArrayValue,
  type DuckDBBlobValue,
  type DuckDBConnection,
  type DuckDBDateValue,
  DuckDBDecimalValue,
  type DuckDBInstance,
  DuckDBIntervalValue,
  type DuckDBListValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  StatementType,
} from "@duckdb/node-api";
import type { ReadTxn } from "../../storage/partition-store.ts";
import { BadRequestError, errorMessage, RepriseError } from "../../types/errors.ts";
import { COUNTS_TABLE, countPushdown, type CountPushdown } from "./counts.ts";
import { loadCounts, loadTables, QueryTimeoutError, type QueryContext, type RowSink } from "./load.ts";
import { CollectingSink, pointLookupResult, recognisePointLookup } from "./point-lookup.ts";
import { appendRows, RowList } from "./row-transfer.ts";
import { QueryPlanner, type Ast, type Plan, type RelationNeeds } from "./plan.ts";
import { ARROW_STREAM_CONTENT_TYPE, JSON_CONTENT_TYPE, toArrowStream, toJson, type QueryResult, type Value, type ValueType } from "./result.ts";
import { columnsOf, INFORMATION_SCHEMA_TABLES, RELATIONS, type ArrowTypeName, type Cell, type RelationName, type RowOf, type TableName } from "./tables.ts";

/**
 * JSON rows or an Arrow IPC stream, as the HTTP route answers; the result itself, for callers in the
 * process; or only the rows the query reads, for another node that runs it (`rows`).
 */
export type ResultFormat = "json" | "arrow" | "result" | "rows";

export interface EncodedResult {
  readonly contentType: string;
  readonly body: Uint8Array;
}

export type QueryAnswer = { readonly encoded: EncodedResult } | { readonly result: QueryResult } | { readonly rows: Uint8Array };

export interface QueryRun {
  readonly query: string;
  readonly format: ResultFormat;
  readonly context: QueryContext;
  readonly timeoutMs: number;
  /** Rows other nodes loaded for this query from the partitions not read here (`RowList.encode`). */
  readonly remoteRows?: readonly Uint8Array[];
}

/** Statements a client may send besides plain queries: EXPLAIN, and SET (which fails, the configuration is locked). */
const ALLOWED = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN, StatementType.SET]);

/** A query's answer, and the work left once it is sent: emptying the tables it loaded. */
export interface Execution {
  readonly answer: QueryAnswer;
  cleanup(): Promise<void>;
}

export async function executeQuery(instance: DuckDBInstance, snapshots: () => { partitions: ReadTxn[]; release(): void }, run: QueryRun): Promise<Execution> {
  const deadline = Date.now() + run.timeoutMs;
  const sql = translateDialect(run.query);
  const connection = await instance.connect();
  const loaded = new Set<TableName>();
  const cleanup = async () => {
    try {
      for (const table of loaded) await connection.run(`DELETE FROM "${table}"`);
    } finally {
      connection.closeSync();
    }
  };
  try {
    const analysis = await planQuery(connection, sql);
    const lookup = analysis?.root === undefined ? undefined : recognisePointLookup(analysis.root);
    // Every node that loads rows for one query decides between a count and a plain load alike.
    const counts = !lookup && analysis?.exact ? await countsFor(connection, sql, analysis) : undefined;
    const load = (sink: RowSink) => {
      if (analysis === undefined) return;
      withSnapshots(snapshots, (partitions) => {
        const options = { partitions, context: run.context, sink, deadline, timeoutMs: run.timeoutMs };
        if (counts) loadCounts(counts.pushdown, options);
        else loadTables(analysis.plan, options);
      });
      for (const rows of run.remoteRows ?? []) appendRows(sink, rows);
    };
    if (run.format === "rows") {
      const sink = new RowList();
      load(sink);
      return { answer: { rows: sink.encode() }, cleanup };
    }
    let result: QueryResult;
    if (lookup) {
      const sink = new CollectingSink();
      load(sink);
      result = pointLookupResult(lookup, sink);
    } else {
      if (analysis !== undefined) {
        const sink = await AppenderSink.open(connection, counts ? [COUNTS_TABLE] : tablesOf(analysis.plan));
        try {
          load(sink);
        } finally {
          for (const table of sink.close()) loaded.add(table);
        }
      }
      // Prepared again: a plan prepared over the empty tables may have been folded away by their statistics.
      result = await runQuery(connection, counts?.statement ?? sql, deadline, run.timeoutMs);
    }
    const answer: QueryAnswer =
      run.format === "result"
        ? { result }
        : { encoded: run.format === "json" ? { contentType: JSON_CONTENT_TYPE, body: Buffer.from(toJson(result)) } : { contentType: ARROW_STREAM_CONTENT_TYPE, body: toArrowStream(result) } };
    return { answer, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

function withSnapshots(snapshots: () => { partitions: ReadTxn[]; release(): void }, read: (partitions: readonly ReadTxn[]) => void): void {
  const { partitions, release } = snapshots();
  try {
    read(partitions);
  } finally {
    release();
  }
}

/**
 * What the statement reads, from DuckDB's parse tree (which it gives for one SELECT only). Any other
 * statement is prepared to learn its type (or DuckDB's error): EXPLAIN and SET read nothing, a
 * SELECT without a tree (DESCRIBE, SHOW) reads every relation whole, the rest is refused.
 */
async function planQuery(connection: DuckDBConnection, sql: string): Promise<Analysis | undefined> {
  const reader = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const tree = JSON.parse(String(reader.getRows()[0]![0])) as Ast;
  if (!tree.error && tree.statements?.length === 1) {
    const root = tree.statements[0].node;
    const planner = new QueryPlanner((expr) => evaluateTimestamp(connection, expr));
    const plan = await planner.plan(root);
    return { plan, root, exact: planner.exactNodes.has(root) };
  }
  let type: StatementType;
  try {
    type = (await connection.prepare(sql)).statementType;
  } catch (e) {
    throw queryError(errorMessage(e));
  }
  if (!ALLOWED.has(type)) throw new BadRequestError("only queries (SELECT) are allowed", "invalid_query");
  if (type !== StatementType.SELECT) return undefined;
  return { plan: new Map((Object.keys(RELATIONS) as RelationName[]).map((r) => [r, { columns: "all", scans: "all" } satisfies RelationNeeds])), exact: false };
}

interface Analysis {
  readonly plan: Plan;
  readonly root?: Ast;
  /** The root reads one relation through scans that express its WHERE exactly. */
  readonly exact: boolean;
}

/** A count the stores can answer, and the statement rewritten to sum their counts; undefined for any other query. */
async function countsFor(connection: DuckDBConnection, sql: string, analysis: Analysis): Promise<{ pushdown: CountPushdown; statement: string } | undefined> {
  // Most queries are no count: the AST says so before DuckDB is asked for the result's names.
  if (!countPushdown(analysis.root, analysis.plan, analysis.exact, [])) return undefined;
  let names: string[];
  try {
    const prepared = await connection.prepare(sql);
    names = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
  } catch {
    // Running it reports why, with DuckDB's message.
    return undefined;
  }
  const pushdown = countPushdown(analysis.root, analysis.plan, analysis.exact, names);
  if (!pushdown) return undefined;
  const statement = { error: false, statements: [{ node: pushdown.rewritten, named_param_map: [] }] };
  const text = await connection.runAndReadAll("SELECT json_deserialize_sql($1::JSON)", [JSON.stringify(statement)]);
  return { pushdown, statement: String(text.getRows()[0]![0]) };
}

/** A constant expression of the tree (e.g. `TIMESTAMP '…'`, `now() - INTERVAL 1 HOUR`) in epoch microseconds. */
async function evaluateTimestamp(connection: DuckDBConnection, expr: Ast): Promise<bigint | null> {
  const statement = { error: false, statements: [{ node: { ...SELECT_ONE, select_list: [expr] }, named_param_map: [] }] };
  try {
    const text = await connection.runAndReadAll("SELECT json_deserialize_sql($1::JSON)", [JSON.stringify(statement)]);
    const value = await connection.runAndReadAll(`SELECT epoch_us(CAST((${String(text.getRows()[0]![0])}) AS TIMESTAMPTZ))`);
    const us = value.getRows()[0]![0];
    return typeof us === "bigint" ? us : null;
  } catch {
    // Not a timestamp: the constraint is dropped and DuckDB's filter decides.
    return null;
  }
}

const SELECT_ONE = {
  type: "SELECT_NODE",
  modifiers: [],
  cte_map: { map: [] },
  from_table: { type: "EMPTY", sample: null },
  where_clause: null,
  group_expressions: [],
  group_sets: [],
  aggregate_handling: "STANDARD_HANDLING",
  having: null,
  sample: null,
  qualify: null,
};

/**
 * What DataFusion accepts and DuckDB reads differently, for the queries Restate's clients send:
 * - an alias used inside an unaliased subquery qualifies columns outside it (the CLI counts with
 *   `SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT n) WHERE inv.…`);
 * - `first_value(x [ORDER BY y])` is an aggregate in DataFusion (`restate services status`), a
 *   window function in DuckDB, whose aggregate is `first`;
 * - `information_schema.columns`/`.tables` list Restate's relations with Restate's type names.
 */
export function translateDialect(sql: string): string {
  return sql
    .replace(/(\(\s*SELECT\s+\*\s+FROM\s+sys_invocation\s+inv\s+LIMIT\s+\d+\s*\))(?!\s*(AS\s+)?inv\b)/gi, "$1 inv")
    .replace(/\bfirst_value(\s*\([^()]*\))(?!\s*OVER\b)/gi, "first$1")
    .replace(/\binformation_schema\s*\.\s*"?(columns|tables)\b"?/gi, (_, t: string) => INFORMATION_SCHEMA_TABLES[t.toLowerCase() as "columns" | "tables"]);
}

/** DuckDB's errors about the statement are the client's to fix; resource or internal failures are ours. */
function queryError(message: string): RepriseError {
  if (/^(INTERNAL|Out of Memory) Error/.test(message)) return new RepriseError("query_failed", message, false, 500);
  return new BadRequestError(message, "invalid_query");
}

async function runQuery(connection: DuckDBConnection, sql: string, deadline: number, timeoutMs: number): Promise<QueryResult> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection.interrupt();
  }, Math.max(0, deadline - Date.now()));
  try {
    const reader = await connection.runAndReadAll(sql);
    const types = reader.columnTypes().map(valueType);
    const names = reader.columnNames();
    return {
      columns: names.map((name, i) => ({ name, type: types[i]! })),
      rows: reader.getRows().map((row) => row.map((v, i) => toValue(v, types[i]!))),
    };
  } catch (e) {
    if (timedOut) throw new QueryTimeoutError(timeoutMs);
    if (e instanceof RepriseError) throw e;
    throw queryError(errorMessage(e));
  } finally {
    clearTimeout(timer);
  }
}

/** DuckDB's vector size: rows are handed over a chunk at a time. */
const CHUNK_ROWS = 2048;

/** One table's appender and the rows waiting for it, column by column. */
interface TableBuffer {
  readonly appender: DuckDBAppender;
  readonly columns: readonly (readonly [string, ArrowTypeName])[];
  readonly types: readonly DuckDBType[];
  readonly values: DuckDBValue[][];
  rows: number;
}

/**
 * Rows into DuckDB in data chunks: numbers, times and NULLs are written into the chunk's memory
 * in JS and copied in one call per column, so a row costs few crossings into native code (a
 * value at a time through the appender cost about 1 µs per cell).
 */
class AppenderSink implements RowSink {
  private readonly used = new Set<TableName>();

  private constructor(private readonly tables: ReadonlyMap<TableName, TableBuffer>) {}

  /** Appenders are created before loading (creating one is asynchronous) so that `append` stays synchronous. */
  static async open(connection: DuckDBConnection, tables: Iterable<TableName>): Promise<AppenderSink> {
    const buffers = new Map<TableName, TableBuffer>();
    for (const table of tables) {
      const appender = await connection.createAppender(table);
      const columns = columnsOf(table);
      const types = columns.map((_, i) => appender.columnType(i));
      buffers.set(table, { appender, columns, types, values: columns.map(() => []), rows: 0 });
    }
    return new AppenderSink(buffers);
  }

  append<T extends TableName>(table: T, row: RowOf<T>): void {
    const buffer = this.tables.get(table);
    if (!buffer) throw new RepriseError("query_failed", `table ${table} was not planned for loading`, false, 500);
    const cells = row as Record<string, Cell | null | undefined>;
    buffer.columns.forEach(([column, type], i) => buffer.values[i]!.push(duckdbValue(type, cells[column] ?? null)));
    this.used.add(table);
    if (++buffer.rows === CHUNK_ROWS) appendChunk(buffer);
  }

  /** Appends what is buffered and closes every appender; returns the tables that received rows. */
  close(): TableName[] {
    for (const buffer of this.tables.values()) {
      if (buffer.rows > 0) appendChunk(buffer);
      buffer.appender.closeSync();
    }
    return [...this.used];
  }
}

function appendChunk(buffer: TableBuffer): void {
  const chunk = DuckDBDataChunk.create(buffer.types as DuckDBType[], buffer.rows);
  buffer.values.forEach((values, i) => chunk.setColumnValues(i, values));
  buffer.appender.appendDataChunk(chunk);
  for (const values of buffer.values) values.length = 0;
  buffer.rows = 0;
}

function duckdbValue(type: ArrowTypeName, value: Cell | null): DuckDBValue {
  if (value === null) return null;
  switch (type) {
    case 'Timestamp(ms, "+00:00")':
      return new DuckDBTimestampTZValue(BigInt(value as number) * 1000n);
    case "LargeBinary":
      return blobValue(value as Uint8Array);
    case "Duration(ms)":
      return new DuckDBIntervalValue(0, 0, BigInt(value as number) * 1000n);
    case "List(UInt32)":
    case "List(LargeUtf8)":
      return listValue(value as readonly (number | string)[]);
    default:
      return value as string | number | bigint | boolean;
  }
}

/** The tables the plan's relations are loaded into: the view reads the status and the invoker's state. */
function tablesOf(plan: Plan): Set<TableName> {
  const tables = new Set<TableName>();
  for (const relation of plan.keys()) {
    if (relation === "sys_invocation") tables.add("sys_invocation_status").add("sys_invocation_state");
    else tables.add(relation);
  }
  return tables;
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
