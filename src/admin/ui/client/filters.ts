import { lit } from "./api.ts";
import { OUTCOMES, STATUSES } from "./format.ts";

/**
 * The invocations query bar: space-separated terms, each `field:value[,value...]` (a leading `!`
 * negates: `status:!completed`), `created>`/`created<`/`modified>`/`modified<` with an ISO time or
 * a relative one (`created>-15m`, `modified<-2h`), or a bare word matching the target or the id.
 * Values with spaces go in double quotes: `key:"a b"`.
 */
export interface Filter {
  readonly field: FilterField;
  readonly op: ":" | "!:" | ">" | "<";
  readonly values: readonly string[];
}

export const FILTER_FIELDS = ["status", "service", "handler", "key", "deployment", "id", "idempotency", "invoked-by", "created", "modified", "text"] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

const COLUMN: Record<Exclude<FilterField, "status" | "created" | "modified" | "text" | "deployment">, string> = {
  service: "target_service_name",
  handler: "target_handler_name",
  key: "target_service_key",
  id: "id",
  idempotency: "idempotency_key",
  "invoked-by": "invoked_by_id",
};

const TIME_COLUMN = { created: "created_at", modified: "modified_at" } as const;

export class FilterSyntaxError extends Error {}

const TERM = /"([^"]*)"|(\S+)/g;

/** Terms of the bar, as typed; errors name the term at fault. */
export function parseFilters(text: string): Filter[] {
  const filters: Filter[] = [];
  for (const raw of splitTerms(text)) {
    const m = /^([a-z-]+)(:|>|<)(.*)$/s.exec(raw);
    if (!m) {
      filters.push({ field: "text", op: ":", values: [raw] });
      continue;
    }
    const [, name, sep, rest] = m;
    if (!(FILTER_FIELDS as readonly string[]).includes(name) || name === "text") {
      throw new FilterSyntaxError(`unknown filter '${name}' in '${raw}': use ${FILTER_FIELDS.filter((f) => f !== "text").join(", ")}`);
    }
    const field = name as FilterField;
    const timed = field === "created" || field === "modified";
    if (timed !== (sep !== ":")) {
      throw new FilterSyntaxError(timed ? `'${raw}': compare times with > or <, e.g. ${field}>-1h` : `'${raw}': use ${field}:value`);
    }
    const negated = sep === ":" && rest.startsWith("!");
    const values = unquote(negated ? rest.slice(1) : rest)
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
    if (values.length === 0) throw new FilterSyntaxError(`'${raw}' has no value`);
    if (field === "status") {
      const known = [...STATUSES, ...OUTCOMES] as readonly string[];
      const bad = values.find((v) => !known.includes(v));
      if (bad !== undefined) throw new FilterSyntaxError(`unknown status '${bad}': use ${known.join(", ")}`);
    }
    if (timed) {
      if (values.length !== 1) throw new FilterSyntaxError(`'${raw}' compares with one time`);
      resolveTime(values[0]!);
    }
    filters.push({ field, op: negated ? "!:" : (sep as Filter["op"]), values });
  }
  return filters;
}

function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (/\s/.test(ch) && !quoted) {
      if (current) terms.push(current);
      current = "";
    } else current += ch;
  }
  if (quoted) throw new FilterSyntaxError("a quote is not closed");
  if (current) terms.push(current);
  return terms;
}

const unquote = (v: string) => v.replace(TERM, (_m, q: string | undefined, plain: string | undefined) => q ?? plain ?? "");

/** Back to the bar's text (the inverse of `parseFilters` up to spacing). */
export function formatFilters(filters: readonly Filter[]): string {
  return filters
    .map((f) => {
      const values = f.values.map((v) => (/[\s,"]/.test(v) ? `"${v}"` : v)).join(",");
      if (f.field === "text") return values;
      return f.op === "!:" ? `${f.field}:!${values}` : `${f.field}${f.op}${values}`;
    })
    .join(" ");
}

const RELATIVE = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO time, or `-15m` (that long before now), as an instant. */
export function resolveTime(value: string, now = Date.now()): Date {
  const rel = RELATIVE.exec(value);
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new FilterSyntaxError(`'${value}' is not a time: use e.g. 2026-01-31T12:00, or -15m, -2h, -1d`);
  return new Date(ms);
}

/** The SQL condition on `sys_invocation` for one filter. */
function condition(f: Filter, now: number): string {
  const list = f.values.map(lit).join(", ");
  const negate = (sql: string) => (f.op === "!:" ? `NOT (${sql})` : sql);
  switch (f.field) {
    case "status": {
      const parts = f.values.map((v) =>
        v === "succeeded"
          ? "(status = 'completed' AND completion_result = 'success')"
          : v === "failed"
            ? "(status = 'completed' AND completion_result = 'failure')"
            : `status = ${lit(v)}`,
      );
      return negate(parts.length === 1 ? parts[0]! : `(${parts.join(" OR ")})`);
    }
    case "deployment":
      return negate(`(pinned_deployment_id IN (${list}) OR last_attempt_deployment_id IN (${list}))`);
    case "created":
    case "modified":
      return `${TIME_COLUMN[f.field]} ${f.op} ${lit(resolveTime(f.values[0]!, now).toISOString())}`;
    case "text": {
      const like = lit(`%${f.values[0]!}%`);
      return `(target LIKE ${like} OR id LIKE ${like})`;
    }
    default:
      return negate(`${COLUMN[f.field]} IN (${list})`);
  }
}

/** `WHERE ...` for the filters (empty when there are none); `except` leaves out one field (for its own counts). */
export function whereClause(filters: readonly Filter[], except?: FilterField, now = Date.now()): string {
  const parts = filters.filter((f) => f.field !== except).map((f) => condition(f, now));
  return parts.length === 0 ? "" : `WHERE ${parts.join(" AND ")}`;
}

/** The filters with `field` set to `values` (or removed when empty), other filters kept. */
export function withFilter(filters: readonly Filter[], field: FilterField, values: readonly string[]): Filter[] {
  const rest = filters.filter((f) => f.field !== field);
  return values.length === 0 ? rest : [...rest, { field, op: ":", values }];
}
