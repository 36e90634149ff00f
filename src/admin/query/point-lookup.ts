/**
 * One invocation's status or journal by id (`SELECT * | columns FROM sys_invocation WHERE id = '…'`,
 * `… FROM sys_journal WHERE id = '…' ORDER BY index`), the queries behind `restate invocations
 * describe` and an invocation's page: answered from the rows the loaders read through the stores'
 * id indexes, without DuckDB. Appending those rows to DuckDB, running the statement and emptying
 * the tables again cost about 8 of a lookup's 11 ms. Only shapes whose result is fully determined
 * by the rows and the catalogue are recognised: one relation, plain columns or a bare `*`, exactly
 * `id = <text>` as WHERE, at most ORDER BY the journal's index and a constant LIMIT/OFFSET.
 * Anything else, including every statement DuckDB would reject, goes to DuckDB.
 */
import type { Ast } from "./plan.ts";
import type { QueryResult, Value, ValueType } from "./result.ts";
import { columnsOf, invocationViewRow, type ArrowTypeName, type RowOf, type TableName } from "./tables.ts";
import type { RowSink } from "./load.ts";

/** The relations a lookup by id answers; each is read through an index on its id. */
const LOOKUP_RELATIONS = ["sys_invocation", "sys_invocation_status", "sys_journal"] as const;
type LookupRelation = (typeof LOOKUP_RELATIONS)[number];

export interface PointLookup {
  readonly relation: LookupRelation;
  readonly id: string;
  /** Result columns, in order: names of the relation's columns. */
  readonly columns: readonly string[];
  /** ORDER BY the journal's index; without it, the order the rows were loaded in (DuckDB's, with one thread and no ORDER BY). */
  readonly order?: "asc" | "desc";
  readonly offset: number;
  readonly limit?: number;
}

/** The lookup `root` (a parsed statement's node) asks for, or undefined when it is anything else. */
export function recognisePointLookup(root: Ast): PointLookup | undefined {
  if (root?.type !== "SELECT_NODE" || (root.cte_map?.map ?? []).length > 0) return undefined;
  if ((root.group_expressions ?? []).length > 0 || (root.group_sets ?? []).length > 0 || root.having || root.qualify || root.sample) return undefined;
  if (root.aggregate_handling !== "STANDARD_HANDLING") return undefined;
  const from = root.from_table;
  if (from?.type !== "BASE_TABLE" || from.schema_name || from.catalog_name || from.sample || from.at_clause || (from.column_name_alias ?? []).length > 0) return undefined;
  const relation = String(from.table_name).toLowerCase() as LookupRelation;
  if (!LOOKUP_RELATIONS.includes(relation)) return undefined;
  const known = new Set(columnsOf(relation).map(([c]) => c));
  const qualifier = String(from.alias || from.table_name).toLowerCase();
  /** A column of the relation, named exactly as the catalogue names it (so the result's name is that name). */
  const column = (e: Ast): string | undefined => {
    if (e?.class !== "COLUMN_REF" || e.alias) return undefined;
    const parts = e.column_names as string[];
    if (parts.length > 2 || (parts.length === 2 && parts[0]!.toLowerCase() !== qualifier)) return undefined;
    const name = parts[parts.length - 1]!;
    return known.has(name) ? name : undefined;
  };

  const columns: string[] = [];
  for (const e of root.select_list ?? []) {
    if (e?.class === "STAR") {
      const plain = !e.alias && !e.expr && !e.columns && [e.exclude_list, e.replace_list, e.qualified_exclude_list, e.rename_list].every((l) => (l ?? []).length === 0);
      if (!plain || (e.relation_name && String(e.relation_name).toLowerCase() !== qualifier)) return undefined;
      columns.push(...known);
      continue;
    }
    const name = column(e);
    if (name === undefined) return undefined;
    columns.push(name);
  }
  // DuckDB would name a repeated column differently; the general path answers those.
  if (columns.length === 0 || new Set(columns).size !== columns.length) return undefined;

  const where = root.where_clause;
  if (where?.class !== "COMPARISON" || where.type !== "COMPARE_EQUAL") return undefined;
  const [ref, value] = where.left?.class === "COLUMN_REF" ? [where.left, where.right] : [where.right, where.left];
  if (column(ref) !== "id" || value?.class !== "CONSTANT" || value.value?.is_null || value.value?.type?.id !== "VARCHAR") return undefined;

  let order: "asc" | "desc" | undefined;
  let offset = 0;
  let limit: number | undefined;
  const modifiers = (root.modifiers ?? []) as Ast[];
  for (const [i, m] of modifiers.entries()) {
    if (m.type === "ORDER_MODIFIER" && i === 0) {
      // The journal's index is unique and never NULL per invocation: the order is total, whatever the NULL order.
      const orders = m.orders as Ast[];
      if (relation !== "sys_journal" || orders.length !== 1 || column(orders[0].expression) !== "index") return undefined;
      order = orders[0].type === "DESCENDING" ? "desc" : "asc";
    } else if (m.type === "LIMIT_MODIFIER" && i === modifiers.length - 1) {
      const n = m.limit ? integerConstant(m.limit) : Number.POSITIVE_INFINITY;
      const skip = m.offset ? integerConstant(m.offset) : 0;
      if (n === undefined || skip === undefined) return undefined;
      offset = skip;
      if (Number.isFinite(n)) limit = n;
    } else return undefined;
  }
  return { relation, id: String(value.value.value), columns, offset, ...(order ? { order } : {}), ...(limit !== undefined ? { limit } : {}) };
}

function integerConstant(expr: Ast): number | undefined {
  if (expr?.class !== "CONSTANT" || expr.value?.is_null || !["INTEGER", "BIGINT", "SMALLINT", "TINYINT", "UINTEGER", "UBIGINT"].includes(expr.value?.type?.id)) return undefined;
  const v = Number(expr.value.value);
  return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** Keeps the rows the loaders append, per table. */
export class CollectingSink implements RowSink {
  private readonly rows = new Map<TableName, RowOf<TableName>[]>();

  append<T extends TableName>(table: T, row: RowOf<T>): void {
    let rows = this.rows.get(table);
    if (!rows) this.rows.set(table, (rows = []));
    rows.push(row as RowOf<TableName>);
  }

  of<T extends TableName>(table: T): readonly RowOf<T>[] {
    return (this.rows.get(table) ?? []) as RowOf<T>[];
  }
}

/** The lookup's result from the rows loaded for it (the loaders read at least the rows with its id). */
export function pointLookupResult(lookup: PointLookup, sink: CollectingSink): QueryResult {
  const types = new Map(columnsOf(lookup.relation));
  let rows: Record<string, unknown>[];
  if (lookup.relation === "sys_invocation") {
    const states = new Map(sink.of("sys_invocation_state").map((s) => [s.id, s]));
    rows = sink.of("sys_invocation_status").map((ss) => invocationViewRow(ss, states.get(ss.id)));
  } else {
    rows = [...sink.of(lookup.relation)];
  }
  rows = rows.filter((r) => r.id === lookup.id);
  if (lookup.order) rows.sort((a, b) => ((a.index as number) - (b.index as number)) * (lookup.order === "desc" ? -1 : 1));
  rows = rows.slice(lookup.offset, lookup.limit === undefined ? undefined : lookup.offset + lookup.limit);
  return {
    columns: lookup.columns.map((name) => ({ name, type: VALUE_TYPE[types.get(name)!] })),
    rows: rows.map((r) => lookup.columns.map((c) => (r[c] ?? null) as Value)),
  };
}

/** What DuckDB reports for each catalogue type's column (see execute.ts valueType), so both paths type a column alike. */
const VALUE_TYPE: Readonly<Record<ArrowTypeName, ValueType>> = {
  UInt64: { kind: "int", bits: 64, signed: false },
  UInt32: { kind: "int", bits: 32, signed: false },
  LargeUtf8: { kind: "utf8" },
  LargeBinary: { kind: "binary" },
  Boolean: { kind: "bool" },
  'Timestamp(ms, "+00:00")': { kind: "timestamp", utc: true },
  "Duration(ms)": { kind: "duration" },
  "List(UInt32)": { kind: "list", item: { kind: "int", bits: 32, signed: false } },
  "List(LargeUtf8)": { kind: "list", item: { kind: "utf8" } },
};
