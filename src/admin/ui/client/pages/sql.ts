import type { VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type Row } from "../api.ts";
import { Card, ErrorBox, PageHeader } from "../components.ts";
import { duration } from "../format.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";
import { href, navigate, type Route } from "../router.ts";

const DEFAULT_QUERY = "SELECT id, target, status, created_at FROM sys_invocation ORDER BY created_at DESC LIMIT 20";

type Outcome = { readonly rows: readonly Row[]; readonly ms: number; readonly query: string } | { readonly error: unknown; readonly query: string };

/** Columns in the order rows first name them (the JSON answer leaves NULL cells out, so one row may not name them all). */
function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function ResultTable({ rows }: { rows: readonly Row[] }): VNode {
  const columns = columnsOf(rows);
  if (rows.length === 0) return html`<p class="muted">No rows.</p>`;
  return html`<div class="scroll-x">
    <table class="table result-table" data-result="sql">
      <thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
      <tbody>
        ${rows.map((r) => html`<tr>${columns.map((c) => html`<td class=${r[c] === undefined ? "null" : ""}>${r[c] === undefined ? "NULL" : cell(r[c])}</td>`)}</tr>`)}
      </tbody>
    </table>
  </div>`;
}

function Tables({ onPick }: { onPick: (table: string) => void }): VNode {
  const tables = useLoad(() => api.query("SELECT table_name FROM information_schema.tables ORDER BY table_name"), "tables");
  return html`<div class="table-list">
    <h3>Tables</h3>
    ${tables.error ? html`<p class="muted small">The table list could not be read.</p>` : null}
    <ul>${(tables.data ?? []).map((t) => html`<li><button type="button" class="link" onClick=${() => onPick(String(t.table_name))}>${t.table_name}</button></li>`)}</ul>
  </div>`;
}

export function SqlPage({ route }: { route: Route }): VNode {
  const initial = route.params.get("query") ?? DEFAULT_QUERY;
  const [text, setText] = useState(initial);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (query: string) => {
    setBusy(true);
    const started = performance.now();
    try {
      const rows = await api.query(query);
      setOutcome({ rows, ms: performance.now() - started, query });
    } catch (error) {
      setOutcome({ error, query });
    } finally {
      setBusy(false);
    }
  };
  // A link with ?query= runs it on arrival.
  useEffect(() => {
    setText(initial);
    if (route.params.has("query")) void run(initial);
  }, [initial]);
  const submit = () => navigate(href("/sql", { query: text }), route.params.get("query") === text);
  return html`<div>
    <${PageHeader} title="SQL console" subtitle=${html`Introspection with the SQL of <code>restate sql</code>: <code>sys_invocation</code>, <code>sys_journal</code>, <code>state</code> and the rest.`} />
    <div class="sql-layout">
      <div>
        <${Card}>
          <form
            class="sql-form"
            onSubmit=${(e: Event) => {
              e.preventDefault();
              if (route.params.get("query") === text) void run(text);
              else submit();
            }}
          >
            <textarea
              name="query"
              class="mono sql-input"
              rows="6"
              spellcheck=${false}
              value=${text}
              onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}
              onKeyDown=${(e: KeyboardEvent) => {
                if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  (e.target as HTMLTextAreaElement).form?.requestSubmit();
                }
              }}
            ></textarea>
            <div class="sql-buttons">
              <button class="btn primary" type="submit" disabled=${busy}>${busy ? "Running…" : "Run"}</button>
              <span class="muted small">Ctrl+Enter runs it</span>
            </div>
          </form>
        <//>
        ${outcome === null
          ? null
          : "error" in outcome
            ? html`<${ErrorBox} title="The query failed" error=${outcome.error} />`
            : html`<${Card} title=${html`Result <span class="muted">${outcome.rows.length} rows · ${duration(outcome.ms)}</span>`}><${ResultTable} rows=${outcome.rows} /><//>`}
      </div>
      <${Tables} onPick=${(t: string) => setText(`SELECT * FROM ${t} LIMIT 50`)} />
    </div>
  </div>`;
}
