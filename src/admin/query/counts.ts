/**
 * Counting pushed to the stores: `SELECT <columns>, count(*) FROM sys_invocation[_status]
 * [WHERE ...] GROUP BY <columns>` over the target and status columns is answered from per-partition
 * GROUP BY counts in SQLite (index-only), which DuckDB then sums, instead of loading one row per
 * invocation. The statement is rewritten to read `reprise_invocation_counts` and sum its `n`.
 */
import type { Ast, Plan, RelationScan } from "./plan.ts";

/** Columns the counts are grouped by, as both relations name them. */
export const COUNT_COLUMNS = ["target", "target_service_name", "target_service_key", "target_handler_name", "status"] as const;
export type CountColumn = (typeof COUNT_COLUMNS)[number];

export const COUNTS_TABLE = "reprise_invocation_counts";

export interface CountPushdown {
  readonly relation: "sys_invocation" | "sys_invocation_status";
  /** The columns the statement groups by or reads (the counts need no others). */
  readonly columns: readonly CountColumn[];
  readonly scans: RelationScan[] | "all";
  /** The statement with its FROM and count(*) replaced; its result columns keep their names. */
  readonly rewritten: Ast;
}

const COUNT_FUNCTIONS = new Set(["count_star", "count"]);

/**
 * The pushdown for `root` when it is such a count over one relation whose WHERE the plan pushed
 * exactly (`exactScans`), with `names` the statement's result column names; undefined otherwise.
 */
export function countPushdown(root: Ast, plan: Plan, exact: boolean, names: readonly string[]): CountPushdown | undefined {
  if (root?.type !== "SELECT_NODE" || !exact || (root.cte_map?.map ?? []).length > 0) return undefined;
  if (root.having || root.qualify || root.sample || (root.group_sets ?? []).length > 1) return undefined;
  // A count in ORDER BY or GROUP BY would be evaluated over the summed groups, not the invocations.
  if (mentionsCount(root.modifiers) || mentionsCount(root.group_expressions)) return undefined;
  const from = root.from_table;
  if (from?.type !== "BASE_TABLE" || (from.schema_name && from.schema_name !== "main") || from.catalog_name) return undefined;
  const relation = String(from.table_name).toLowerCase();
  if (relation !== "sys_invocation" && relation !== "sys_invocation_status") return undefined;
  if (plan.size !== 1) return undefined;
  const alias = String(from.alias || relation).toLowerCase();
  const select = root.select_list as Ast[];
  const columns = new Set<CountColumn>();
  const columnOf = (e: Ast): CountColumn | undefined => {
    if (e?.class !== "COLUMN_REF") return undefined;
    const parts = (e.column_names as string[]).map((p) => p.toLowerCase());
    if (parts.length > 2 || (parts.length === 2 && parts[0] !== alias)) return undefined;
    const c = parts[parts.length - 1] as CountColumn;
    return COUNT_COLUMNS.includes(c) ? c : undefined;
  };
  let counts = 0;
  const rewrittenSelect = select.map((e, i) => {
    const c = columnOf(e);
    if (c) {
      columns.add(c);
      return e;
    }
    if (e?.class === "FUNCTION" && COUNT_FUNCTIONS.has(String(e.function_name).toLowerCase()) && isPlainCount(e)) {
      counts++;
      return sumOfN(e.alias || names[i]);
    }
    return null;
  });
  if (counts === 0 || rewrittenSelect.includes(null)) return undefined;
  for (const g of root.group_expressions ?? []) {
    const c = columnOf(g) ?? groupByReference(g, select, columnOf);
    if (!c) return undefined;
    columns.add(c);
  }
  // Every selected column is grouped by (DuckDB prepared the original); one reference, so at most one scan.
  const needs = plan.get(relation)!;
  if (needs.scans !== "all" && needs.scans.length > 1) return undefined;
  const rewritten = { ...root, select_list: rewrittenSelect, from_table: { ...from, table_name: COUNTS_TABLE, alias } };
  return { relation, columns: [...columns], scans: needs.scans === "all" ? "all" : [...needs.scans], rewritten };
}

function mentionsCount(tree: Ast): boolean {
  if (Array.isArray(tree)) return tree.some(mentionsCount);
  if (!tree || typeof tree !== "object") return false;
  if (tree.class === "FUNCTION" && COUNT_FUNCTIONS.has(String(tree.function_name).toLowerCase())) return true;
  return Object.values(tree).some(mentionsCount);
}

/** count(*), count(1) or count(<constant>): no DISTINCT, FILTER or ORDER BY. */
function isPlainCount(e: Ast): boolean {
  if (e.distinct || e.filter || (e.order_bys?.orders ?? []).length > 0) return false;
  const args = (e.children ?? []) as Ast[];
  return String(e.function_name).toLowerCase() === "count_star" ? args.length === 0 : args.length === 1 && args[0]?.class === "CONSTANT" && !args[0].value?.is_null;
}

/** GROUP BY 1 or GROUP BY <alias>: the select item it names. */
function groupByReference(g: Ast, select: readonly Ast[], columnOf: (e: Ast) => CountColumn | undefined): CountColumn | undefined {
  if (g?.class === "CONSTANT" && typeof g.value?.value === "number") return columnOf(select[g.value.value - 1]);
  if (g?.class === "COLUMN_REF" && g.column_names.length === 1) {
    const item = select.find((e) => String(e?.alias ?? "").toLowerCase() === String(g.column_names[0]).toLowerCase());
    return item ? columnOf(item) : undefined;
  }
  return undefined;
}

/** `CAST(sum(n) AS BIGINT) AS <name>`: the count's type (Int64) and name are kept. */
function sumOfN(name: string): Ast {
  return {
    class: "CAST",
    type: "OPERATOR_CAST",
    alias: name,
    child: {
      class: "FUNCTION",
      type: "FUNCTION",
      alias: "",
      function_name: "sum",
      schema: "",
      catalog: "",
      children: [{ class: "COLUMN_REF", type: "COLUMN_REF", alias: "", column_names: ["n"] }],
      filter: null,
      order_bys: { type: "ORDER_MODIFIER", orders: [] },
      distinct: false,
      is_operator: false,
      export_state: false,
    },
    cast_type: { id: "BIGINT", type_info: null },
    try_cast: false,
  };
}
