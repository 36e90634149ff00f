/**
 * What a query needs from each relation, read from DuckDB's parse tree (`json_serialize_sql`):
 * which columns it can see, and which rows: constraints on indexed columns taken from WHERE and
 * JOIN conditions (and carried across equi-joins), and `ORDER BY ... LIMIT` when a scan alone
 * decides which rows survive. Everything here only narrows what is loaded: DuckDB still evaluates
 * the whole query on what was loaded, so a constraint must never exclude a row the query could use.
 * Anything not understood loads the relation whole.
 */
import { RELATIONS as CATALOGUE, type RelationName } from "./tables.ts";

export type PlanValue = string | bigint;

/** Constraints on one column, in the column's SQL terms; timestamps in epoch microseconds. */
export interface Constraint {
  readonly in?: readonly PlanValue[];
  readonly notIn?: readonly PlanValue[];
  readonly min?: { readonly value: PlanValue; readonly inclusive: boolean };
  readonly max?: { readonly value: PlanValue; readonly inclusive: boolean };
}

export interface OrderTerm {
  readonly column: string;
  readonly desc: boolean;
}

/** One way the query reads a relation: rows meeting every constraint, in `orderBy`, at most `limit`. */
export interface RelationScan {
  readonly where: Readonly<Record<string, Constraint>>;
  readonly orderBy?: readonly OrderTerm[];
  readonly limit?: number;
}

export interface RelationNeeds {
  /** Columns the query may read; "all" for `SELECT *` in the result. */
  readonly columns: ReadonlySet<string> | "all";
  /** The union of these scans holds every row the query may read; "all" when unconstrained. */
  readonly scans: readonly RelationScan[] | "all";
}

export type Plan = ReadonlyMap<RelationName, RelationNeeds>;

type ColumnType = "utf8" | "timestamp";

/**
 * Columns whose constraints the loaders push to the stores. `exact` says the pushed filter is
 * exactly the SQL predicate (so a LIMIT may be pushed with it); otherwise it is a superset.
 */
interface Pushable {
  readonly type: ColumnType;
  readonly exact: (c: Constraint) => boolean;
  readonly orderable?: boolean;
}

const always = () => true;
const never = () => false;
/** The view's running/backing-off/ready all read the stored status `invoked`: a superset. */
const DERIVED_INVOKED = new Set<PlanValue>(["running", "backing-off", "ready"]);
const viewStatusExact = (c: Constraint) => ![...(c.in ?? []), ...(c.notIn ?? [])].some((v) => DERIVED_INVOKED.has(v)) && !c.min && !c.max;

const INVOCATION_COLUMNS = {
  id: { type: "utf8", exact: always, orderable: true },
  target_service_name: { type: "utf8", exact: always },
  target_service_key: { type: "utf8", exact: always },
  target_handler_name: { type: "utf8", exact: always },
  // Only its service part is pushed.
  target: { type: "utf8", exact: never },
  idempotency_key: { type: "utf8", exact: always },
  created_at: { type: "timestamp", exact: always, orderable: true },
  modified_at: { type: "timestamp", exact: always, orderable: true },
} as const satisfies Record<string, Pushable>;

export const PUSHABLE: Readonly<Partial<Record<RelationName, Readonly<Record<string, Pushable>>>>> = {
  sys_invocation_status: { ...INVOCATION_COLUMNS, status: { type: "utf8", exact: always } },
  sys_invocation: { ...INVOCATION_COLUMNS, status: { type: "utf8", exact: viewStatusExact } },
  sys_invocation_state: { id: { type: "utf8", exact: always } },
  // `completed` and `invoked_id` need the invocation's whole journal, so only ids are pushed.
  sys_journal: { id: { type: "utf8", exact: always } },
  sys_journal_events: { id: { type: "utf8", exact: always } },
  state: { service_name: { type: "utf8", exact: always }, service_key: { type: "utf8", exact: always }, key: { type: "utf8", exact: always } },
  sys_idempotency: {
    service_name: { type: "utf8", exact: always },
    idempotency_key: { type: "utf8", exact: always },
    invocation_id: { type: "utf8", exact: always },
  },
};

/** Evaluates a constant expression of the parse tree to epoch microseconds (null if it is not a timestamp). */
export type TimestampEvaluator = (expression: Ast) => Promise<bigint | null>;

// The parse tree is JSON; nodes are read by their `class`/`type` fields.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Ast = any;

/** Relations whose values may change between planning and execution (now()) are widened by this. */
const VOLATILE_MARGIN_US = 60_000_000n;

const AGGREGATES = new Set([
  "count", "count_star", "sum", "min", "max", "avg", "mean", "first", "last", "first_value", "last_value", "any_value", "arbitrary",
  "array_agg", "list", "string_agg", "group_concat", "listagg", "bool_and", "bool_or", "bit_and", "bit_or", "median", "mode",
  "quantile", "quantile_cont", "quantile_disc", "approx_count_distinct", "approx_quantile", "arg_min", "arg_max", "argmin", "argmax",
  "min_by", "max_by", "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp", "variance", "histogram", "product", "entropy",
  "kurtosis", "skewness", "corr", "covar_pop", "covar_samp", "favg", "fsum", "sumkahan", "kahan_sum", "count_if", "countif", "sum_no_overflow",
]);

interface RelationRef {
  readonly name: string;
  /** A catalogue relation, or undefined for a subquery, a CTE or anything else. */
  readonly relation?: RelationName;
  readonly node: Ast;
}

interface ColumnKey {
  readonly ref: RelationRef;
  readonly column: string;
}

/** Per reference: its constraints and whether all of them (and nothing else) came from the WHERE clause exactly. */
interface RefState {
  where: Map<string, Constraint>;
  orderBy?: OrderTerm[];
  limit?: number;
}

export class QueryPlanner {
  /** SELECT nodes over one relation whose WHERE clause the scans express exactly. */
  readonly exactNodes = new Set<Ast>();
  private readonly scans = new Map<Ast, RefState>();
  private readonly allColumns = new Set<RelationName>();
  private readonly exposedNodes = new Set<Ast>();
  private readonly names = new Set<string>();

  constructor(private readonly evaluate: TimestampEvaluator) {}

  /** The plan for a parsed statement (`json_serialize_sql`'s `statements[0].node`). */
  async plan(root: Ast): Promise<Plan> {
    collectColumnNames(root, this.names);
    await this.walkNode(root, new Map(), true);
    const plan = new Map<RelationName, { columns: Set<string> | "all"; scans: RelationScan[] | "all" }>();
    // Every table reference anywhere in the tree: one the walk did not reach is read whole.
    for (const ref of baseTableRefs(root)) {
      const relation = catalogueRelation(ref);
      if (relation === undefined) continue;
      const state = this.scans.get(ref);
      const entry = plan.get(relation) ?? { columns: this.allColumns.has(relation) ? "all" : new Set(), scans: [] };
      if (entry.columns !== "all") for (const c of Object.keys(CATALOGUE[relation])) if (this.names.has(c)) entry.columns.add(c);
      if (state === undefined || (state.where.size === 0 && state.limit === undefined)) entry.scans = "all";
      else if (entry.scans !== "all") entry.scans.push({ where: Object.fromEntries(state.where), ...(state.orderBy ? { orderBy: state.orderBy } : {}), ...(state.limit !== undefined ? { limit: state.limit } : {}) });
      plan.set(relation, entry);
    }
    return plan;
  }

  /** `exposed`: the node's columns are the query's result, so its `*` means every column. */
  private async walkNode(node: Ast, ctes: ReadonlyMap<string, Ast>, exposed: boolean): Promise<void> {
    if (!node || typeof node !== "object") return;
    // A (recursive) CTE reached again through its own star is already exposed.
    if (exposed && this.exposedNodes.has(node)) return;
    if (exposed) this.exposedNodes.add(node);
    const scope = new Map(ctes);
    for (const entry of node.cte_map?.map ?? []) scope.set(String(entry.key).toLowerCase(), entry.value?.query?.node);
    for (const entry of node.cte_map?.map ?? []) await this.walkNode(entry.value?.query?.node, scope, false);
    if (node.type !== "SELECT_NODE") {
      // Set operations, recursive CTEs and the like: their query children show what they show.
      for (const child of Object.values(node)) {
        for (const c of Array.isArray(child) ? child : [child]) if (typeof c?.type === "string" && c.type.endsWith("_NODE")) await this.walkNode(c, scope, exposed);
      }
      return;
    }
    const refs: RelationRef[] = [];
    const conjuncts: { expr: Ast; pushTo: "any" | Set<RelationRef> }[] = [];
    const edges: [ColumnKey, ColumnKey][] = [];
    const ok = this.fromRefs(node.from_table, scope, refs, conjuncts, edges);
    if (exposed && (node.select_list ?? []).some((e: Ast) => e?.class === "STAR")) {
      // The star shows every column of what it selects from, through subqueries and CTEs.
      for (const ref of refs) {
        if (ref.relation) this.allColumns.add(ref.relation);
        else if (ref.node?.type === "SUBQUERY") await this.walkNode(ref.node.subquery?.node, scope, true);
        else if (ref.node?.type === "BASE_TABLE") await this.walkNode(scope.get(String(ref.node.table_name).toLowerCase()), scope, true);
      }
    }
    for (const ref of refs) if (ref.node?.type === "SUBQUERY") await this.walkNode(ref.node.subquery?.node, scope, false);
    if (!ok) return;
    for (const c of splitAnd(node.where_clause)) conjuncts.push({ expr: c, pushTo: "any" });

    const states = new Map<RelationRef, RefState>(refs.filter((r) => r.relation).map((r) => [r, { where: new Map() }]));
    let exact = true;
    for (const { expr, pushTo } of conjuncts) {
      const pushed = await this.pushConjunct(expr, refs, states, pushTo, edges);
      if (!pushed) exact = false;
    }
    propagate(edges, states);
    // A LIMIT reaches the scan only when the scan decides the rows on its own.
    const [only] = refs;
    if (refs.length === 1 && only?.relation && exact) this.exactNodes.add(node);
    if (refs.length === 1 && only?.relation && exact && isPlainProjection(node)) {
      const state = states.get(only)!;
      const order = pushableOrder(node, only);
      const limit = limitOf(node);
      if (order !== undefined && limit !== undefined) {
        if (order.length > 0) state.orderBy = order;
        state.limit = limit;
      }
    }
    for (const [ref, state] of states) this.scans.set(ref.node, state);
  }

  /** Flattens the FROM tree; false when it holds something whose semantics block pushing (then WHERE is not used). */
  private fromRefs(
    from: Ast,
    ctes: ReadonlyMap<string, Ast>,
    refs: RelationRef[],
    conjuncts: { expr: Ast; pushTo: "any" | Set<RelationRef> }[],
    edges: [ColumnKey, ColumnKey][],
  ): boolean {
    if (!from || from.type === "EMPTY") return true;
    if (from.type === "BASE_TABLE") {
      const table = String(from.table_name).toLowerCase();
      const name = String(from.alias || from.table_name).toLowerCase();
      const relation = ctes.has(table) ? undefined : catalogueRelation(from);
      refs.push({ name, node: from, ...(relation ? { relation } : {}) });
      return true;
    }
    if (from.type === "SUBQUERY") {
      refs.push({ name: String(from.alias ?? "").toLowerCase(), node: from });
      return true;
    }
    if (from.type === "JOIN") {
      const leftRefs: RelationRef[] = [];
      const rightRefs: RelationRef[] = [];
      const okLeft = this.fromRefs(from.left, ctes, leftRefs, conjuncts, edges);
      const okRight = this.fromRefs(from.right, ctes, rightRefs, conjuncts, edges);
      refs.push(...leftRefs, ...rightRefs);
      const type = String(from.join_type);
      const regular = from.ref_type === "REGULAR" && (from.using_columns ?? []).length === 0;
      if (!okLeft || !okRight || !regular) return false;
      // ON conjuncts may filter the side whose unmatched rows the join drops.
      const filtered = new Set<RelationRef>(type === "INNER" ? [...leftRefs, ...rightRefs] : type === "LEFT" ? rightRefs : type === "RIGHT" ? leftRefs : []);
      for (const c of splitAnd(from.condition)) {
        const pair = columnPair(c);
        if (pair) {
          const a = resolve(pair[0], [...leftRefs, ...rightRefs]);
          const b = resolve(pair[1], [...leftRefs, ...rightRefs]);
          if (a && b) {
            // A constraint may cross from a preserved side to the filtered one, or both ways in an inner join.
            if (filtered.has(b.ref)) edges.push([a, b]);
            if (filtered.has(a.ref)) edges.push([b, a]);
          }
          continue;
        }
        if (filtered.size > 0) conjuncts.push({ expr: c, pushTo: filtered });
      }
      return true;
    }
    // Table functions, VALUES, PIVOT...: their own relations are found by the whole-tree pass.
    refs.push({ name: String(from.alias ?? "").toLowerCase(), node: from });
    return false;
  }

  /** Records `expr` on the reference it constrains; true when it was pushed exactly. */
  private async pushConjunct(
    expr: Ast,
    refs: readonly RelationRef[],
    states: Map<RelationRef, RefState>,
    pushTo: "any" | Set<RelationRef>,
    edges: [ColumnKey, ColumnKey][],
  ): Promise<boolean> {
    const pair = columnPair(expr);
    if (pair) {
      if (pushTo !== "any") return false;
      const a = resolve(pair[0], refs);
      const b = resolve(pair[1], refs);
      if (a && b) edges.push([a, b], [b, a]);
      return false;
    }
    const atom = await this.atom(expr, refs);
    if (!atom) return false;
    const { key, constraint, exactValue } = atom;
    if (pushTo !== "any" && !pushTo.has(key.ref)) return false;
    const state = states.get(key.ref);
    const pushable = key.ref.relation ? PUSHABLE[key.ref.relation]?.[key.column] : undefined;
    if (!state || !pushable) return false;
    state.where.set(key.column, intersect(state.where.get(key.column), constraint));
    return exactValue && pushable.exact(constraint);
  }

  /** A comparison of one column with constants, as a constraint. */
  private async atom(expr: Ast, refs: readonly RelationRef[]): Promise<{ key: ColumnKey; constraint: Constraint; exactValue: boolean } | undefined> {
    if (!expr) return undefined;
    let column: Ast;
    let parts: { op: string; value: Ast }[];
    if (expr.class === "COMPARISON") {
      if (expr.left?.class === "COLUMN_REF") {
        column = expr.left;
        parts = [{ op: expr.type, value: expr.right }];
      } else if (expr.right?.class === "COLUMN_REF") {
        column = expr.right;
        parts = [{ op: FLIPPED[expr.type as string] ?? "", value: expr.left }];
      } else return undefined;
    } else if (expr.class === "BETWEEN" && expr.input?.class === "COLUMN_REF") {
      column = expr.input;
      parts = [
        { op: "COMPARE_GREATERTHANOREQUALTO", value: expr.lower },
        { op: "COMPARE_LESSTHANOREQUALTO", value: expr.upper },
      ];
    } else if (expr.class === "OPERATOR" && (expr.type === "COMPARE_IN" || expr.type === "COMPARE_NOT_IN") && expr.children?.[0]?.class === "COLUMN_REF") {
      column = expr.children[0];
      parts = expr.children.slice(1).map((value: Ast) => ({ op: expr.type, value }));
    } else return undefined;
    const key = resolve(column, refs);
    const pushable = key?.ref.relation ? PUSHABLE[key.ref.relation]?.[key.column] : undefined;
    if (!key || !pushable) return undefined;
    let constraint: Constraint = {};
    let exactValue = true;
    const values: PlanValue[] = [];
    for (const { op, value } of parts) {
      const v = await this.value(value, pushable.type);
      if (v === undefined) return undefined;
      if (v.volatile) exactValue = false;
      const part = comparison(op, v.value, v.volatile);
      if (part === undefined) return undefined;
      if (op === "COMPARE_IN" || op === "COMPARE_NOT_IN") values.push(v.value);
      else constraint = intersect(constraint, part);
    }
    if (expr.type === "COMPARE_IN") constraint = { in: values };
    if (expr.type === "COMPARE_NOT_IN") constraint = { notIn: values };
    return { key, constraint, exactValue };
  }

  private async value(expr: Ast, type: ColumnType): Promise<{ value: PlanValue; volatile: boolean } | undefined> {
    if (!isConstantExpression(expr)) return undefined;
    if (type === "utf8") {
      if (expr.class !== "CONSTANT" || expr.value?.is_null || expr.value?.type?.id !== "VARCHAR") return undefined;
      return { value: String(expr.value.value), volatile: false };
    }
    const us = await this.evaluate(expr);
    return us === null ? undefined : { value: us, volatile: containsFunction(expr) };
  }
}

const FLIPPED: Readonly<Record<string, string>> = {
  COMPARE_EQUAL: "COMPARE_EQUAL",
  COMPARE_NOTEQUAL: "COMPARE_NOTEQUAL",
  COMPARE_LESSTHAN: "COMPARE_GREATERTHAN",
  COMPARE_GREATERTHAN: "COMPARE_LESSTHAN",
  COMPARE_LESSTHANOREQUALTO: "COMPARE_GREATERTHANOREQUALTO",
  COMPARE_GREATERTHANOREQUALTO: "COMPARE_LESSTHANOREQUALTO",
};

/** A comparison as a constraint; a volatile bound is widened so it still covers the value at execution. */
function comparison(op: string, value: PlanValue, volatile: boolean): Constraint | undefined {
  const widen = (v: PlanValue, by: bigint) => (volatile && typeof v === "bigint" ? v + by : v);
  switch (op) {
    case "COMPARE_EQUAL":
      return volatile ? { min: { value: widen(value, -VOLATILE_MARGIN_US), inclusive: true }, max: { value: widen(value, VOLATILE_MARGIN_US), inclusive: true } } : { in: [value] };
    case "COMPARE_NOTEQUAL":
      return volatile ? {} : { notIn: [value] };
    case "COMPARE_LESSTHAN":
      return { max: { value: widen(value, VOLATILE_MARGIN_US), inclusive: volatile } };
    case "COMPARE_LESSTHANOREQUALTO":
      return { max: { value: widen(value, VOLATILE_MARGIN_US), inclusive: true } };
    case "COMPARE_GREATERTHAN":
      return { min: { value: widen(value, -VOLATILE_MARGIN_US), inclusive: volatile } };
    case "COMPARE_GREATERTHANOREQUALTO":
      return { min: { value: widen(value, -VOLATILE_MARGIN_US), inclusive: true } };
    case "COMPARE_IN":
    case "COMPARE_NOT_IN":
      return volatile ? undefined : {};
    default:
      return undefined;
  }
}

/** Both constraints at once. */
export function intersect(a: Constraint | undefined, b: Constraint): Constraint {
  if (!a) return b;
  const inList = a.in && b.in ? a.in.filter((v) => b.in!.includes(v)) : (a.in ?? b.in);
  const notIn = [...(a.notIn ?? []), ...(b.notIn ?? [])];
  const min = tighter(a.min, b.min, 1);
  const max = tighter(a.max, b.max, -1);
  return { ...(inList ? { in: inList } : {}), ...(notIn.length ? { notIn } : {}), ...(min ? { min } : {}), ...(max ? { max } : {}) };
}

function tighter<B extends { value: PlanValue; inclusive: boolean }>(a: B | undefined, b: B | undefined, sign: 1 | -1): B | undefined {
  if (!a || !b) return a ?? b;
  if (a.value === b.value) return a.inclusive ? b : a;
  return (a.value > b.value ? sign : -sign) > 0 ? a : b;
}

/** Carries constraints along equi-join edges until nothing changes (bounded by the edge count). */
function propagate(edges: readonly [ColumnKey, ColumnKey][], states: Map<RelationRef, RefState>): void {
  for (let round = 0; round <= edges.length; round++) {
    let changed = false;
    for (const [from, to] of edges) {
      const source = states.get(from.ref)?.where.get(from.column);
      const target = states.get(to.ref);
      const pushable = to.ref.relation ? PUSHABLE[to.ref.relation]?.[to.column] : undefined;
      const fromType = from.ref.relation ? PUSHABLE[from.ref.relation]?.[from.column]?.type : undefined;
      // The view's status is derived: it does not equal a stored status column.
      const derived = (k: ColumnKey) => k.ref.relation === "sys_invocation" && k.column === "status";
      if (!source || !target || !pushable || pushable.type !== fromType || derived(from) || derived(to)) continue;
      const before = target.where.get(to.column);
      const after = intersect(before, source);
      if (JSON.stringify(after, bigintJson) !== JSON.stringify(before, bigintJson)) {
        target.where.set(to.column, after);
        changed = true;
      }
    }
    if (!changed) return;
  }
}

const bigintJson = (_: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);

function splitAnd(expr: Ast): Ast[] {
  if (!expr) return [];
  if (expr.class === "CONJUNCTION" && expr.type === "CONJUNCTION_AND") return (expr.children as Ast[]).flatMap(splitAnd);
  return [expr];
}

function columnPair(expr: Ast): [Ast, Ast] | undefined {
  if (expr?.class === "COMPARISON" && expr.type === "COMPARE_EQUAL" && expr.left?.class === "COLUMN_REF" && expr.right?.class === "COLUMN_REF") {
    return [expr.left, expr.right];
  }
  return undefined;
}

/** The reference a column belongs to: by qualifier, or the one relation of the FROM that has it. */
function resolve(column: Ast, refs: readonly RelationRef[]): ColumnKey | undefined {
  const names = (column.column_names as string[]).map((n) => n.toLowerCase());
  if (names.length > 2) return undefined;
  const name = names[names.length - 1]!;
  if (names.length === 2) {
    const matches = refs.filter((r) => r.name === names[0]);
    const [ref] = matches;
    return matches.length === 1 && ref!.relation && name in CATALOGUE[ref!.relation] ? { ref: ref!, column: name } : undefined;
  }
  // Unqualified: only when no subquery could also provide it and exactly one relation has it.
  if (refs.some((r) => !r.relation)) return undefined;
  const owners = refs.filter((r) => name in CATALOGUE[r.relation!]);
  return owners.length === 1 ? { ref: owners[0]!, column: name } : undefined;
}

function catalogueRelation(ref: Ast): RelationName | undefined {
  const schema = String(ref.schema_name ?? "").toLowerCase();
  const catalog = String(ref.catalog_name ?? "").toLowerCase();
  if (catalog !== "" || (schema !== "" && schema !== "main" && schema !== "public")) return undefined;
  const table = String(ref.table_name).toLowerCase();
  return table in CATALOGUE ? (table as RelationName) : undefined;
}

/** Every BASE_TABLE node of the tree. */
function baseTableRefs(tree: Ast, out: Ast[] = []): Ast[] {
  if (Array.isArray(tree)) for (const t of tree) baseTableRefs(t, out);
  else if (tree && typeof tree === "object") {
    if (tree.type === "BASE_TABLE" && typeof tree.table_name === "string") out.push(tree);
    for (const v of Object.values(tree)) baseTableRefs(v, out);
  }
  return out;
}

/** Every name any column reference ends with: a superset of the columns the query reads. */
function collectColumnNames(tree: Ast, out: Set<string>): void {
  if (Array.isArray(tree)) for (const t of tree) collectColumnNames(t, out);
  else if (tree && typeof tree === "object") {
    if (tree.class === "COLUMN_REF") for (const n of tree.column_names as string[]) out.add(n.toLowerCase());
    // `COLUMNS(...)` or a star inside an expression: any column may be read.
    if (tree.class === "STAR" && (tree.columns || tree.expr)) for (const r of Object.values(CATALOGUE)) for (const c of Object.keys(r)) out.add(c);
    for (const v of Object.values(tree)) collectColumnNames(v, out);
  }
}

function isConstantExpression(expr: Ast): boolean {
  if (!expr || typeof expr !== "object") return true;
  if (Array.isArray(expr)) return expr.every(isConstantExpression);
  if (["COLUMN_REF", "SUBQUERY", "WINDOW", "STAR", "PARAMETER", "LAMBDA", "COLLATE"].includes(expr.class)) return false;
  return Object.values(expr).every(isConstantExpression);
}

function containsFunction(expr: Ast): boolean {
  if (!expr || typeof expr !== "object") return false;
  if (Array.isArray(expr)) return expr.some(containsFunction);
  if (expr.class === "FUNCTION") return true;
  return Object.values(expr).some(containsFunction);
}

/** No grouping, aggregation, window, DISTINCT, HAVING or QUALIFY: a LIMIT counts scanned rows. */
function isPlainProjection(node: Ast): boolean {
  if ((node.group_expressions ?? []).length > 0 || node.having || node.qualify || node.sample) return false;
  if ((node.modifiers ?? []).some((m: Ast) => m.type === "DISTINCT_MODIFIER")) return false;
  return !(node.select_list ?? []).some(hasAggregateOrWindow);
}

function hasAggregateOrWindow(expr: Ast): boolean {
  if (!expr || typeof expr !== "object") return false;
  if (Array.isArray(expr)) return expr.some(hasAggregateOrWindow);
  if (expr.class === "WINDOW" || expr.class === "SUBQUERY") return true;
  if (expr.class === "FUNCTION" && (AGGREGATES.has(String(expr.function_name).toLowerCase()) || expr.distinct || expr.filter || (expr.order_bys?.orders ?? []).length > 0)) return true;
  return Object.values(expr).some(hasAggregateOrWindow);
}

/** The ORDER BY as pushable terms ([] when there is none); undefined when a term cannot be pushed. */
function pushableOrder(node: Ast, ref: RelationRef): OrderTerm[] | undefined {
  const order = (node.modifiers ?? []).find((m: Ast) => m.type === "ORDER_MODIFIER");
  if (!order) return [];
  const aliases = new Set((node.select_list ?? []).map((e: Ast) => String(e.alias ?? "").toLowerCase()).filter(Boolean));
  const terms: OrderTerm[] = [];
  for (const o of order.orders as Ast[]) {
    const e = o.expression;
    if (e?.class !== "COLUMN_REF" || o.null_order !== "ORDER_DEFAULT") return undefined;
    const names = (e.column_names as string[]).map((n) => n.toLowerCase());
    // An unqualified name may mean a select-list alias, which ORDER BY prefers.
    if (names.length === 1 && aliases.has(names[0]!)) return undefined;
    const key = resolve(e, [ref]);
    const pushable = key ? PUSHABLE[ref.relation!]?.[key.column] : undefined;
    if (!key || !pushable?.orderable) return undefined;
    terms.push({ column: key.column, desc: o.type === "DESCENDING" });
  }
  return terms;
}

/** LIMIT + OFFSET when both are integer constants. */
function limitOf(node: Ast): number | undefined {
  const modifiers = (node.modifiers ?? []) as Ast[];
  const limit = modifiers.find((m) => m.type === "LIMIT_MODIFIER");
  if (!limit || modifiers.indexOf(limit) !== modifiers.length - 1) return undefined;
  const n = integerConstant(limit.limit);
  const offset = limit.offset ? integerConstant(limit.offset) : 0;
  return n === undefined || offset === undefined ? undefined : n + offset;
}

function integerConstant(expr: Ast): number | undefined {
  if (expr?.class !== "CONSTANT" || expr.value?.is_null) return undefined;
  const v = Number(expr.value.value);
  return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
