import type Database from "better-sqlite3";

/**
 * Range scans for introspection (SQL): constraints on a table's indexed columns, compiled to a
 * WHERE clause so SQLite answers them from its indexes instead of the caller filtering every row.
 */

export type ScanValue = string | number;

/** What one column must satisfy; every given part must hold. */
export interface ColumnConstraint {
  /** The value is one of these. */
  readonly in?: readonly ScanValue[];
  /** The value is none of these (NULL never matches, as in SQL). */
  readonly notIn?: readonly ScanValue[];
  readonly min?: { readonly value: ScanValue; readonly inclusive: boolean };
  readonly max?: { readonly value: ScanValue; readonly inclusive: boolean };
}

export interface ScanOrder<C extends string> {
  readonly column: C;
  readonly desc: boolean;
}

/** A scan of one table: constraints by column, then an order and a row limit (only meaningful together). */
export interface Scan<C extends string> {
  readonly where?: Partial<Readonly<Record<C, ColumnConstraint>>>;
  readonly orderBy?: readonly ScanOrder<C>[];
  readonly limit?: number;
}

/**
 * `SELECT <select> FROM <from> WHERE ... ORDER BY ... LIMIT ?` for `scan`, with its parameters.
 * `columns` maps the scan's column names to the table's SQL expressions; only those may appear,
 * so no caller text reaches the statement.
 */
export function compileScan<C extends string>(
  select: string,
  from: string,
  columns: Readonly<Record<C, string>>,
  scan: Scan<C>,
  defaultOrder: string,
): { sql: string; params: ScanValue[] } {
  const { where, params } = compileWhere(columns, scan.where ?? {});
  const order = scan.orderBy?.length ? scan.orderBy.map((o) => `${columns[o.column]} ${o.desc ? "DESC" : "ASC"}`).join(", ") : defaultOrder;
  let sql = `SELECT ${select} FROM ${from}${where} ORDER BY ${order}`;
  if (scan.limit !== undefined) {
    sql += " LIMIT ?";
    params.push(scan.limit);
  }
  return { sql, params };
}

/** ` WHERE ...` (or nothing) for the constraints, with its parameters. */
export function compileWhere<C extends string>(columns: Readonly<Record<C, string>>, constraints: NonNullable<Scan<C>["where"]>): { where: string; params: ScanValue[] } {
  const params: ScanValue[] = [];
  const terms: string[] = [];
  for (const [column, c] of Object.entries(constraints) as [C, ColumnConstraint | undefined][]) {
    if (c === undefined) continue;
    const expr = columns[column];
    if (c.in !== undefined) {
      if (c.in.length === 0) terms.push("0");
      else terms.push(`${expr} IN (${c.in.map(() => "?").join(", ")})`);
      params.push(...c.in);
    }
    if (c.notIn !== undefined && c.notIn.length > 0) {
      terms.push(`${expr} NOT IN (${c.notIn.map(() => "?").join(", ")})`);
      params.push(...c.notIn);
    }
    if (c.min !== undefined) {
      terms.push(`${expr} ${c.min.inclusive ? ">=" : ">"} ?`);
      params.push(c.min.value);
    }
    if (c.max !== undefined) {
      terms.push(`${expr} ${c.max.inclusive ? "<=" : "<"} ?`);
      params.push(c.max.value);
    }
  }
  return { where: terms.length > 0 ? ` WHERE ${terms.join(" AND ")}` : "", params };
}

/** Prepared statements by SQL text: a scan's shape repeats (the CLI's queries), its values do not. */
export class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly capacity = 64,
  ) {}

  get(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      if (this.statements.size >= this.capacity) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
