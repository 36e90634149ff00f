// How values from SQL rows and the admin API are shown.

/** Statuses as `sys_invocation.status` spells them, in lifecycle order, plus the two outcomes of `completed`. */
export const STATUSES = ["pending", "scheduled", "ready", "running", "backing-off", "suspended", "paused", "completed"] as const;
export const OUTCOMES = ["succeeded", "failed"] as const;

/** What a row's status shows: a completed invocation as its outcome. */
export function shownStatus(row: { status?: unknown; completion_result?: unknown }): string {
  const status = String(row.status ?? "unknown");
  if (status !== "completed") return status;
  return row.completion_result === "failure" ? "failed" : "succeeded";
}

export function isCompleted(row: { status?: unknown }): boolean {
  return row.status === "completed";
}

/** `3s ago`, `in 2m`, from a timestamp string or ms. */
export function relative(ts: unknown, now = Date.now()): string {
  const ms = toMs(ts);
  if (ms === null) return "";
  const d = ms - now;
  const text = duration(Math.abs(d));
  return d <= 0 ? `${text} ago` : `in ${text}`;
}

/** A span of milliseconds, at the two coarsest units that matter: `850ms`, `12.3s`, `4m 10s`, `2h 5m`, `3d 4h`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

export function toMs(ts: unknown): number | null {
  if (typeof ts === "number") return ts;
  if (typeof ts !== "string" || ts === "") return null;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? null : ms;
}

/** A local date-time with milliseconds, for titles and detail fields. */
export function absolute(ts: unknown): string {
  const ms = toMs(ts);
  if (ms === null) return "";
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Text that is JSON is shown indented; anything else as it is. */
export function pretty(text: string): string {
  const t = text.trim();
  if (!(t.startsWith("{") || t.startsWith("[") || t.startsWith('"'))) return text;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return text;
  }
}

/** Bytes (hex, as the SQL JSON answer carries binary) as UTF-8 text when they are text, else as hex. */
export function bytesText(hex: string): { text: string; binary: boolean } {
  const bytes = hexBytes(hex);
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), binary: false };
  } catch {
    return { text: hex.replace(/(..)/g, "$1 ").trim(), binary: true };
  }
}

export function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `1.2 KiB` */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A long id shortened in the middle, the whole id in its title. */
export function shortId(id: string): string {
  return id.length > 18 ? `${id.slice(0, 10)}…${id.slice(-6)}` : id;
}
