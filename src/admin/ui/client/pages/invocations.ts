import type { VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type Row } from "../api.ts";
import { Card, ErrorBox, LiveToggle, Loading, PageHeader, StatusBadge, Time } from "../components.ts";
import { countsOverall, countsPerService, SHOWN_STATUSES, type Counts } from "../counts.ts";
import { FILTER_FIELDS, formatFilters, parseFilters, whereClause, withFilter, type Filter } from "../filters.ts";
import { duration, shortId, toMs } from "../format.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";
import { href, navigate, type Route } from "../router.ts";

const LIST_COLUMNS = [
  "id",
  "target",
  "target_service_name",
  "target_service_key",
  "target_handler_name",
  "status",
  "completion_result",
  "completion_failure",
  "created_at",
  "modified_at",
  "completed_at",
  "retry_count",
  "next_retry_at",
  "last_failure",
  "pinned_deployment_id",
  "last_attempt_deployment_id",
  "journal_size",
].join(", ");

const PAGE_SIZES = [50, 100, 500] as const;

/** Orders the list offers, by URL value. */
const SORTS = {
  newest: { label: "newest first", sql: "created_at DESC" },
  oldest: { label: "oldest first", sql: "created_at ASC" },
  modified: { label: "recently modified", sql: "modified_at DESC" },
} as const;
type Sort = keyof typeof SORTS;

/** A full invocation id typed alone in the bar opens its page. */
const INVOCATION_ID = /^inv_[0-9A-Za-z]{30,}$/;

interface ListData {
  readonly rows: readonly Row[];
  readonly statusCounts: Counts;
  readonly serviceCounts: Map<string, Counts>;
  readonly sql: string;
}

async function loadList(filters: readonly Filter[], limit: number, sort: Sort): Promise<ListData> {
  const where = whereClause(filters);
  const sql = `SELECT ${LIST_COLUMNS} FROM sys_invocation ${where} ORDER BY ${SORTS[sort].sql} LIMIT ${limit}`;
  const [rows, statusCounts, serviceCounts] = await Promise.all([
    api.query(sql),
    countsOverall(whereClause(filters, "status")),
    countsPerService(whereClause(filters, "service")),
  ]);
  return { rows, statusCounts, serviceCounts, sql };
}

/** The filter a status chip toggles: that status alone, or none when it is the one selected. */
function toggledStatus(filters: readonly Filter[], status: string): Filter[] {
  const current = filters.find((f) => f.field === "status" && f.op === ":");
  const selected = current !== undefined && current.values.length === 1 && current.values[0] === status;
  return withFilter(filters, "status", selected ? [] : [status]);
}

function QueryBar({ text, onRun, error }: { text: string; onRun: (text: string) => void; error: unknown }): VNode {
  const [draft, setDraft] = useState(text);
  useEffect(() => setDraft(text), [text]);
  return html`<form
    class="query-bar"
    onSubmit=${(e: Event) => {
      e.preventDefault();
      onRun(draft);
    }}
  >
    <span class="query-prompt">filter</span>
    <input
      name="q"
      class="query-input mono"
      value=${draft}
      placeholder="status:running service:Counter key:alice handler:add deployment:dp_… created>-1h"
      onInput=${(e: Event) => setDraft((e.target as HTMLInputElement).value)}
      spellcheck=${false}
      autocomplete="off"
    />
    ${draft !== "" ? html`<button type="button" class="btn ghost" onClick=${() => onRun("")}>Clear</button>` : null}
    <button type="submit" class="btn primary">Query</button>
  </form>
  <p class="hint">
    Terms: ${FILTER_FIELDS.filter((f) => f !== "text" && f !== "created" && f !== "modified").map((f) => html`<code>${f}:</code> `)}
    (several values: <code>status:running,suspended</code>; not: <code>status:!succeeded</code>), <code>${"created>-15m"}</code>,
    <code>${"modified<2026-01-31T12:00"}</code>; other words match the target or id; a whole invocation id opens it.
  </p>
  <${ErrorBox} title="The filter is not valid" error=${error} />`;
}

function ServiceTabs({ counts, filters, onChange }: { counts: Map<string, Counts>; filters: readonly Filter[]; onChange: (f: Filter[]) => void }): VNode {
  const selected = filters.find((f) => f.field === "service" && f.op === ":")?.values;
  const total = [...counts.values()].reduce((a, c) => a + c.total, 0);
  const tab = (label: string, n: number, active: boolean, values: string[]) =>
    html`<button type="button" class=${`tab ${active ? "active" : ""}`} data-service-tab=${label} onClick=${() => onChange(withFilter(filters, "service", values))}>
      ${label} <span class="tab-n">${n}</span>
    </button>`;
  return html`<div class="tabs">
    ${tab("All services", total, selected === undefined, [])}
    ${[...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([service, c]) => tab(service, c.total, selected?.length === 1 && selected[0] === service, [service]))}
  </div>`;
}

function StatusChips({ counts, filters, onChange }: { counts: Counts; filters: readonly Filter[]; onChange: (f: Filter[]) => void }): VNode {
  const selected = filters.find((f) => f.field === "status" && f.op === ":")?.values ?? [];
  return html`<div class="status-counts">
    ${SHOWN_STATUSES.map((s) => {
      const n = counts.byStatus.get(s) ?? 0;
      return html`<button
        type="button"
        class=${`count-chip status-${s} ${n === 0 ? "zero" : ""} ${selected.includes(s) ? "selected" : ""}`}
        data-status=${s}
        onClick=${() => onChange(toggledStatus(filters, s))}
      >
        <span class="count-n">${n}</span> ${s}
      </button>`;
    })}
  </div>`;
}

function elapsed(r: Row): string {
  const start = toMs(r.created_at);
  if (start === null) return "";
  const end = toMs(r.completed_at) ?? Date.now();
  return duration(Math.max(0, end - start));
}

function InvocationRow({ r }: { r: Row }): VNode {
  const failure = (r.completion_failure ?? r.last_failure) as string | undefined;
  const deployment = (r.pinned_deployment_id ?? r.last_attempt_deployment_id) as string | undefined;
  return html`<tr data-invocation-id=${r.id}>
    <td class="mono"><a href=${href(`/invocations/${encodeURIComponent(String(r.id))}`)} title=${r.id}>${shortId(String(r.id))}</a></td>
    <td>
      <span class="target">
        <strong>${r.target_service_name}</strong>${r.target_service_key !== undefined ? html`<span class="key">/${r.target_service_key}</span>` : null}<span class="handler">/${r.target_handler_name}</span>
      </span>
    </td>
    <td><${StatusBadge} row=${r} />${Number(r.retry_count ?? 0) > 1 ? html` <span class="muted small" title="attempts started: this invocation was retried">↻${r.retry_count}</span>` : null}</td>
    <td><${Time} ts=${r.created_at} /></td>
    <td><${Time} ts=${r.modified_at} /></td>
    <td class="small">${elapsed(r)}</td>
    <td class="mono small">${deployment ?? ""}</td>
    <td class="failure-cell" title=${failure ?? ""}>${failure ? failure.split("\n")[0] : ""}</td>
  </tr>`;
}

export function InvocationsPage({ route }: { route: Route }): VNode {
  const text = route.params.get("q") ?? "";
  const limit = Number(route.params.get("limit") ?? PAGE_SIZES[0]);
  const sortParam = route.params.get("sort") ?? "newest";
  const sort: Sort = sortParam in SORTS ? (sortParam as Sort) : "newest";
  const [live, setLive] = useState(true);
  let filters: Filter[] = [];
  let filterError: unknown;
  try {
    filters = parseFilters(text);
  } catch (e) {
    filterError = e;
  }
  const go = (q: string, n = limit, order = sort) =>
    INVOCATION_ID.test(q.trim())
      ? navigate(href(`/invocations/${q.trim()}`))
      : navigate(href("/invocations", { q, limit: n === PAGE_SIZES[0] ? undefined : String(n), sort: order === "newest" ? undefined : order }));
  const setFilters = (f: Filter[]) => go(formatFilters(f));
  const loaded = useLoad(() => loadList(filters, limit, sort), `${formatFilters(filters)}|${limit}|${sort}|${filterError ? "bad" : ""}`, live && !filterError ? 2000 : null);

  return html`<div>
    <${PageHeader} title="Invocations" subtitle="Requests to run handlers: follow them, open their journals, and intervene.">
      <${LiveToggle} live=${live} onChange=${setLive} at=${loaded.at} loading=${loaded.loading} />
    <//>
    <${QueryBar} text=${text} onRun=${(q: string) => go(q)} error=${filterError} />
    ${filterError
      ? null
      : html`<${Loading} loaded=${loaded}>
          ${(d: ListData) => html`
            <${ServiceTabs} counts=${d.serviceCounts} filters=${filters} onChange=${setFilters} />
            <${Card}>
              <${StatusChips} counts=${d.statusCounts} filters=${filters} onChange=${setFilters} />
              ${d.rows.length === 0
                ? html`<p class="empty">No invocation matches${text ? html` <code>${text}</code>` : ""}.</p>`
                : html`<table class="table invocations">
                    <thead>
                      <tr><th>Id</th><th>Target</th><th>Status</th><th>Created</th><th>Modified</th><th>Duration</th><th>Deployment</th><th>Failure</th></tr>
                    </thead>
                    <tbody>${d.rows.map((r) => html`<${InvocationRow} key=${r.id} r=${r} />`)}</tbody>
                  </table>`}
              <div class="table-foot">
                <span class="muted">
                  ${d.rows.length} shown${d.rows.length === limit ? ` (the first ${limit})` : ""}
                </span>
                <span>
                  <select name="sort" value=${sort} onChange=${(e: Event) => go(text, limit, (e.target as HTMLSelectElement).value as Sort)}>
                    ${Object.entries(SORTS).map(([k, v]) => html`<option value=${k}>${v.label}</option>`)}
                  </select>
                  Show
                  <select value=${String(limit)} onChange=${(e: Event) => go(text, Number((e.target as HTMLSelectElement).value))}>
                    ${PAGE_SIZES.map((n) => html`<option value=${String(n)}>${n}</option>`)}
                  </select>
                  <a class="small" href=${href("/sql", { query: d.sql })}>Open as SQL</a>
                </span>
              </div>
            <//>
          `}
        <//>`}
  </div>`;
}
