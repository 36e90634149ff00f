import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { api, lit, type Row } from "../api.ts";
import { Card, ErrorBox, Fields, LiveToggle, Loading, PageHeader, StatusBadge, Time } from "../components.ts";
import { absolute, duration, isCompleted, pretty, relative, toMs } from "../format.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";
import { buildTimeline, humanize, inputOf, summary, type Outcome, type TimelineEntry } from "../journal.ts";
import { href, navigate } from "../router.ts";

const JOURNAL_COLUMNS = "index, entry_type, name, completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name, entry_json, appended_at";

interface InvocationData {
  readonly inv: Row | undefined;
  readonly journal: readonly Row[];
  readonly events: readonly Row[];
  /** Why the events could not be read, shown in place of them. */
  readonly eventsError?: unknown;
}

async function loadInvocation(id: string): Promise<InvocationData> {
  const [invs, journal, events] = await Promise.all([
    api.query(`SELECT * FROM sys_invocation WHERE id = ${lit(id)}`),
    api.query(`SELECT ${JOURNAL_COLUMNS} FROM sys_journal WHERE id = ${lit(id)} ORDER BY index`),
    api
      .query(`SELECT after_journal_entry_index, appended_at, event_type, event_json FROM sys_journal_events WHERE id = ${lit(id)} ORDER BY appended_at`)
      .then((rows) => ({ rows }), (error: unknown) => ({ rows: [] as Row[], error })),
  ]);
  return { inv: invs[0], journal, events: events.rows, ...("error" in events ? { eventsError: events.error } : {}) };
}

/**
 * Operator actions as the admin API names them (Restate's routes), offered in the states the API
 * takes them in: cancel and kill until completed, pause while it runs or waits, resume once paused,
 * suspended or backing off, purge and restart-as-new once completed (not for workflows).
 */
const ACTIONS = [
  { op: "cancel", label: "Cancel", danger: false, when: (r: Row) => !isCompleted(r), what: "asks the invocation to stop: the handler gets a cancellation and may run compensations" },
  { op: "kill", label: "Kill", danger: true, when: (r: Row) => !isCompleted(r), what: "ends the invocation at once, without running any more of its code, and kills what it called" },
  { op: "pause", label: "Pause", danger: false, when: (r: Row) => ["running", "backing-off", "ready", "suspended"].includes(String(r.status)), what: "stops running and retrying it until it is resumed" },
  { op: "resume", label: "Resume", danger: false, when: (r: Row) => ["paused", "suspended", "backing-off"].includes(String(r.status)), what: "runs it again now" },
  {
    op: "restart-as-new",
    label: "Restart as new",
    danger: false,
    when: (r: Row) => isCompleted(r) && r.target_service_ty !== "workflow",
    what: "starts a new invocation of the same handler with the same input",
  },
  { op: "purge", label: "Purge", danger: true, when: (r: Row) => isCompleted(r), what: "deletes the completed invocation, its journal and its result" },
] as const;

type Action = (typeof ACTIONS)[number];

function Actions({ inv, onDone }: { inv: Row; onDone: () => void }): VNode {
  const [confirming, setConfirming] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: string } | { error: unknown } | null>(null);
  const id = String(inv.id);
  const run = async (a: Action) => {
    setBusy(true);
    setResult(null);
    try {
      const answer = await api.send<{ new_invocation_id?: string }>("PATCH", `/invocations/${encodeURIComponent(id)}/${a.op}`);
      if (answer.new_invocation_id) return navigate(href(`/invocations/${encodeURIComponent(answer.new_invocation_id)}`));
      setResult({ ok: `${a.label} requested.` });
      onDone();
    } catch (error) {
      setResult({ error });
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  };
  const available = ACTIONS.filter((a) => a.when(inv));
  return html`<div class="actions">
    <div class="action-buttons">
      ${available.map(
        (a) => html`<button type="button" class=${`btn ${a.danger ? "danger" : ""}`} data-action=${a.op} disabled=${busy} onClick=${() => setConfirming(a)}>${a.label}</button>`,
      )}
    </div>
    ${confirming
      ? html`<div class="confirm" role="dialog">
          <p><strong>${confirming.label} this invocation?</strong> It ${confirming.what}.</p>
          <button type="button" class=${`btn ${confirming.danger ? "danger" : "primary"}`} data-confirm=${confirming.op} disabled=${busy} onClick=${() => run(confirming)}>
            ${confirming.label}
          </button>
          <button type="button" class="btn ghost" onClick=${() => setConfirming(null)}>Keep it</button>
        </div>`
      : null}
    ${result && "ok" in result ? html`<p class="notice" role="status">${result.ok}</p>` : null}
    ${result && "error" in result ? html`<${ErrorBox} title="The action was refused" error=${result.error} />` : null}
  </div>`;
}

function OutcomeView({ outcome }: { outcome: Outcome }): VNode {
  if (outcome.t === "failure") return html`<pre class="outcome failure">${outcome.code !== undefined ? `[${outcome.code}] ` : ""}${outcome.message}</pre>`;
  if (outcome.t === "void") return html`<span class="outcome void">${outcome.label}</span>`;
  return html`<pre class="outcome value">${pretty(outcome.text)}</pre>`;
}

interface Span {
  readonly start: number;
  readonly end: number;
}

function Bar({ span, from, to, kind }: { span: Span; from: number | null; to: number | null; kind: string }): VNode {
  if (from === null) return html`<div class="track"></div>`;
  const total = Math.max(1, span.end - span.start);
  const left = ((from - span.start) / total) * 100;
  const width = to === null ? 0 : ((to - from) / total) * 100;
  return html`<div class="track">
    <span class=${`bar ${kind} ${to === null ? "point" : ""}`} style=${{ left: `${Math.min(100, Math.max(0, left))}%`, width: `max(${Math.max(0, width)}%, 3px)` }}></span>
  </div>`;
}

function TimelineRow({ e, span, running }: { e: TimelineEntry; span: Span; running: boolean }): VNode {
  const [open, setOpen] = useState(false);
  const completedAt = e.completion?.at ?? null;
  // A command still waiting for its completion spans up to now.
  const waiting = e.kind === "Command" && e.row.completed === false && running;
  const until = completedAt ?? (waiting ? Date.now() : null);
  const input = inputOf(e);
  const outcomeKind = e.outcome?.t === "failure" ? "failed" : waiting ? "waiting" : "ok";
  return html`<li class=${`entry kind-${e.kind.toLowerCase()} ${outcomeKind}`} data-entry-index=${e.index} data-entry-type=${e.type}>
    <div class="entry-line" onClick=${() => setOpen(!open)}>
      <span class="entry-index">${e.index}</span>
      <span class="entry-type"><span class="entry-kind">${e.kind}</span> ${e.type}</span>
      <span class="entry-name">${e.name ? html`<code>${e.name}</code>` : null} <span class="muted small">${summary(e)}</span></span>
      <span class="entry-time" title=${absolute(e.at)}>${e.at !== null ? `+${duration(e.at - span.start)}` : ""}${completedAt !== null && e.at !== null ? html` <span class="muted">(${duration(completedAt - e.at)})</span>` : null}${waiting ? html` <span class="badge status-suspended">waiting</span>` : null}</span>
      <${Bar} span=${span} from=${e.at} to=${until} kind=${outcomeKind} />
    </div>
    ${e.outcome ? html`<div class="entry-result"><span class="muted small">result</span> <${OutcomeView} outcome=${e.outcome} /></div>` : null}
    ${input !== undefined && (open || e.type === "Input") ? html`<div class="entry-result"><span class="muted small">input</span> <pre class="outcome value">${pretty(input)}</pre></div>` : null}
    ${e.events.map(
      (ev) => html`<div class="entry-event" data-event-type=${ev.type}>
        <span class="badge status-backing-off">${ev.type}</span>
        ${ev.code ? html`<code>${ev.code}</code>` : null}
        <span class="muted small">${ev.at !== null ? relative(ev.at) : ""}</span>
        <pre class="outcome failure">${ev.message}</pre>
      </div>`,
    )}
    ${open
      ? html`<pre class="entry-json">${e.parsed ? JSON.stringify(humanize(e.parsed.body), null, 2) : "(this entry has no JSON form)"}${e.completion?.parsed ? `\n\ncompleted by entry ${e.completion.index}:\n${JSON.stringify(humanize(e.completion.parsed.body), null, 2)}` : ""}</pre>`
      : null}
  </li>`;
}

function Timeline({ data }: { data: InvocationData }): VNode {
  const inv = data.inv!;
  const entries = buildTimeline(data.journal, data.events);
  const times = [toMs(inv.created_at), ...data.journal.map((r) => toMs(r.appended_at))].filter((t): t is number => t !== null);
  const running = !isCompleted(inv);
  const start = Math.min(...times);
  const end = toMs(inv.completed_at) ?? (running ? Date.now() : Math.max(...times));
  const span = { start, end: Math.max(end, start + 1) };
  if (entries.length === 0) return html`<p class="muted">The journal is empty: the invocation has not started yet.</p>`;
  return html`<div class="timeline">
    <div class="timeline-axis">
      <span>${absolute(span.start)}</span>
      <span>${duration(span.end - span.start)}${running ? " so far" : ""}</span>
    </div>
    <ol class="entries">
      ${entries.map((e) => html`<${TimelineRow} key=${e.index} e=${e} span=${span} running=${running} />`)}
    </ol>
    ${data.eventsError ? html`<${ErrorBox} title="Journal events could not be read" error=${data.eventsError} />` : null}
  </div>`;
}

function FailureCard({ inv }: { inv: Row }): VNode | null {
  const completedFailure = inv.completion_failure as string | undefined;
  const lastFailure = inv.last_failure as string | undefined;
  if (!completedFailure && !lastFailure) return null;
  if (completedFailure) {
    return html`<div class="failure-card terminal"><strong>The invocation failed.</strong><pre>${completedFailure}</pre></div>`;
  }
  // retry_count is Restate's start count: attempts started, the running one included.
  const attempts = Number(inv.retry_count ?? 0);
  return html`<div class="failure-card">
    <strong>The last attempt failed${inv.last_failure_error_code ? html` <code>${inv.last_failure_error_code}</code>` : ""}; ${attempts} ${attempts === 1 ? "attempt" : "attempts"} so far${inv.next_retry_at ? html`, next <${Time} ts=${inv.next_retry_at} />` : ""}.</strong>
    ${inv.last_failure_related_command_name || inv.last_failure_related_command_type
      ? html`<div class="small">at command ${inv.last_failure_related_command_index ?? ""} ${inv.last_failure_related_command_type ?? ""} <code>${inv.last_failure_related_command_name ?? ""}</code></div>`
      : null}
    <pre>${lastFailure}</pre>
  </div>`;
}

function Details({ inv }: { inv: Row }): VNode {
  const keyed = inv.target_service_key !== undefined;
  const link = (id: unknown) => (id ? html`<a class="mono" href=${href(`/invocations/${encodeURIComponent(String(id))}`)}>${id}</a>` : null);
  return html`<div class="grid-2">
    <${Card} title="Details">
      <${Fields}
        fields=${[
          ["Target", html`<span class="mono">${inv.target}</span>`],
          ["Service type", inv.target_service_ty],
          ["Key", keyed ? html`<a href=${href("/state", { service: String(inv.target_service_name), key: String(inv.target_service_key) })}>${inv.target_service_key}</a>` : null],
          ["Idempotency key", inv.idempotency_key],
          ["Invoked by", inv.invoked_by_id ? link(inv.invoked_by_id) : inv.invoked_by],
          ["Restarted from", link(inv.restarted_from)],
          ["Journal", inv.journal_size !== undefined ? `${inv.journal_size} entries, ${inv.journal_commands_size ?? "?"} commands` : null],
          ["Trace", inv.trace_id ? html`<span class="mono">${inv.trace_id}</span>` : null],
        ]}
      />
    <//>
    <${Card} title="Lifecycle">
      <${Fields}
        fields=${[
          ["Created", html`<${Time} ts=${inv.created_at} /> <span class="muted small">${absolute(inv.created_at)}</span>`],
          ["Scheduled for", inv.scheduled_start_at ? html`<${Time} ts=${inv.scheduled_start_at} />` : null],
          ["Inboxed", inv.inboxed_at ? html`<${Time} ts=${inv.inboxed_at} />` : null],
          ["Running since", inv.running_at ? html`<${Time} ts=${inv.running_at} />` : null],
          ["Modified", html`<${Time} ts=${inv.modified_at} />`],
          ["Completed", inv.completed_at ? html`<${Time} ts=${inv.completed_at} />` : null],
          ["Attempts", Number(inv.retry_count ?? 0) > 0 ? String(inv.retry_count) : inv.status === "completed" ? null : "0"],
          ["Next retry", inv.next_retry_at ? html`<${Time} ts=${inv.next_retry_at} />` : null],
          ["Last attempt started", inv.last_start_at ? html`<${Time} ts=${inv.last_start_at} />` : null],
          ["Deployment", inv.pinned_deployment_id ?? inv.last_attempt_deployment_id ? html`<a class="mono" href=${href("/deployments")}>${inv.pinned_deployment_id ?? inv.last_attempt_deployment_id}</a>` : null],
          ["Protocol version", inv.pinned_service_protocol_version],
          ["Waiting for", inv.suspended_waiting_for_completions ? `completions ${JSON.stringify(inv.suspended_waiting_for_completions)}` : null],
        ]}
      />
    <//>
  </div>`;
}

export function InvocationPage({ id }: { id: string }): VNode {
  const [live, setLive] = useState(true);
  const loaded = useLoad(() => loadInvocation(id), id, live ? 2000 : null);
  const inv = loaded.data?.inv;
  return html`<div>
    <p class="crumbs"><a href=${href("/invocations")}>Invocations</a> / <span class="mono">${id}</span></p>
    <${PageHeader}
      title=${html`${inv ? html`<span class="mono">${inv.target}</span> ` : "Invocation "}${inv ? html`<${StatusBadge} row=${inv} />` : null}`}
      subtitle=${html`<span class="mono" data-invocation-id=${id}>${id}</span>`}
    >
      <${LiveToggle} live=${live} onChange=${setLive} at=${loaded.at} loading=${loaded.loading} />
    <//>
    <${Loading} loaded=${loaded}>
      ${(d: InvocationData) =>
        d.inv === undefined
          ? html`<${ErrorBox} title="No such invocation" error=${`invocation ${id} is not known to this node: it never existed, or it was completed and purged`} />`
          : html`
              <${Actions} inv=${d.inv} onDone=${loaded.reload} />
              <${FailureCard} inv=${d.inv} />
              <${Details} inv=${d.inv} />
              <${Card} title=${html`Journal <span class="muted">${d.journal.length} entries</span>`}>
                <${Timeline} data=${d} />
              <//>
            `}
    <//>
  </div>`;
}
