import { Component, type ComponentChildren, type VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api.ts";
import { absolute, relative, shownStatus } from "./format.ts";
import { html } from "./html.ts";
import type { Loaded } from "./hooks.ts";

/** A failure as a message: the server's status and words for API errors. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }): VNode | null {
  if (error === undefined || error === null) return null;
  const status = error instanceof ApiError && error.status > 0 ? `${error.status}${error.code ? ` · ${error.code}` : ""}` : "";
  const message = error instanceof Error ? error.message : String(error);
  return html`<div class="error-box" role="alert">
    <div class="error-title">${title ?? "Error"}${status ? html` <span class="error-status">${status}</span>` : null}</div>
    <pre class="error-message">${message}</pre>
  </div>`;
}

/** Renders what a load returned, its error, or that it is loading; the error stays beside stale data. */
export function Loading<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }): VNode {
  return html`<div>
    <${ErrorBox} error=${loaded.error} />
    ${loaded.data !== undefined ? children(loaded.data) : loaded.error ? null : html`<p class="muted">Loading…</p>`}
  </div>`;
}

export function StatusBadge({ row }: { row: { status?: unknown; completion_result?: unknown } }): VNode {
  const status = shownStatus(row);
  return html`<span class=${`badge status-${status}`} data-status=${status}>${status}</span>`;
}

/** A timestamp as `12s ago`, exact in its title; re-rendered every second so it stays true. */
export function Time({ ts }: { ts: unknown }): VNode | null {
  useTick(1000);
  if (ts === undefined || ts === null || ts === "") return html`<span class="muted">—</span>`;
  return html`<time title=${absolute(ts)} datetime=${String(ts)}>${relative(ts)}</time>`;
}

function useTick(ms: number): void {
  const [, set] = useState(0);
  useEffect(() => {
    const t = setInterval(() => set((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
}

/** Live refresh on/off, and when the page last loaded. */
export function LiveToggle({ live, onChange, at, loading }: { live: boolean; onChange: (v: boolean) => void; at?: Date; loading: boolean }): VNode {
  return html`<label class="live-toggle" title="Reload every 2 seconds">
    <input type="checkbox" checked=${live} onChange=${(e: Event) => onChange((e.target as HTMLInputElement).checked)} />
    <span class=${`live-dot ${live ? "on" : ""} ${loading ? "busy" : ""}`}></span>
    Live${at ? html` <span class="muted">· updated <${Time} ts=${at.getTime()} /></span>` : null}
  </label>`;
}

export function PageHeader({ title, subtitle, children }: { title: ComponentChildren; subtitle?: ComponentChildren; children?: ComponentChildren }): VNode {
  return html`<header class="page-header">
    <div>
      <h1>${title}</h1>
      ${subtitle ? html`<p class="subtitle">${subtitle}</p>` : null}
    </div>
    <div class="page-actions">${children}</div>
  </header>`;
}

export function Card({ title, children, actions }: { title?: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren }): VNode {
  return html`<section class="card">
    ${title ? html`<div class="card-head"><h2>${title}</h2><div>${actions}</div></div>` : null}
    <div class="card-body">${children}</div>
  </section>`;
}

/** Label/value pairs; values that are null or empty are left out. */
export function Fields({ fields }: { fields: readonly [string, ComponentChildren][] }): VNode {
  return html`<dl class="fields">
    ${fields
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => html`<div class="field"><dt>${k}</dt><dd>${v}</dd></div>`)}
  </dl>`;
}

/** Catches a page that fails to render and shows why; the app keys it by route, so another page starts afresh. */
export class ErrorBoundary extends Component<{ children: ComponentChildren }, { error: unknown }> {
  override state = { error: undefined as unknown };

  static override getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override render(): ComponentChildren {
    if (this.state.error !== undefined) return html`<${ErrorBox} title="This page failed to render" error=${this.state.error} />`;
    return this.props.children;
  }
}
