import { api, type Row } from "./api.ts";
import { OUTCOMES, shownStatus, STATUSES } from "./format.ts";

/** Every status a count can name, completed split into its outcomes. */
export const SHOWN_STATUSES = [...STATUSES.filter((s) => s !== "completed"), ...OUTCOMES] as const;

export interface Counts {
  readonly total: number;
  readonly byStatus: ReadonlyMap<string, number>;
}

/** Counts by shown status of the rows of `SELECT status, completion_result, count(*) AS n ... GROUP BY ...`. */
export function countByStatus(rows: readonly Row[]): Counts {
  const byStatus = new Map<string, number>();
  let total = 0;
  for (const r of rows) {
    const n = Number(r.n ?? 0);
    const s = shownStatus(r);
    byStatus.set(s, (byStatus.get(s) ?? 0) + n);
    total += n;
  }
  return { total, byStatus };
}

/** Invocations by service and shown status, under a WHERE clause. */
export async function countsPerService(where: string): Promise<Map<string, Counts>> {
  const rows = await api.query(
    `SELECT target_service_name, status, completion_result, count(*) AS n FROM sys_invocation ${where} GROUP BY target_service_name, status, completion_result`,
  );
  const grouped = new Map<string, Row[]>();
  for (const r of rows) {
    const service = String(r.target_service_name ?? "");
    grouped.set(service, [...(grouped.get(service) ?? []), r]);
  }
  return new Map([...grouped].map(([service, rs]) => [service, countByStatus(rs)]));
}

export async function countsOverall(where: string): Promise<Counts> {
  return countByStatus(await api.query(`SELECT status, completion_result, count(*) AS n FROM sys_invocation ${where} GROUP BY status, completion_result`));
}
