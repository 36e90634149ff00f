import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { api, lit, type Row } from "../api.ts";
import type { ServiceJson } from "../admin-types.ts";
import { Card, ErrorBox, Loading, PageHeader } from "../components.ts";
import { bytesText, hexBytes, pretty, size } from "../format.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";
import { href, navigate, type Route } from "../router.ts";

const KEY_LIST_LIMIT = 500;

interface StateEntry {
  readonly key: string;
  /** The value's bytes as hex (how the SQL JSON answer carries binary). */
  readonly hex: string;
  readonly text: string;
  readonly binary: boolean;
  readonly length: number;
}

function entries(rows: readonly Row[]): StateEntry[] {
  return rows.map((r) => {
    const hex = String(r.value ?? "");
    const { text, binary } = bytesText(hex);
    return { key: String(r.key), hex, text, binary, length: Number(r.value_length ?? hex.length / 2) };
  });
}

function ServicePicker({ services, service, onPick }: { services: readonly ServiceJson[]; service: string; onPick: (s: string) => void }): VNode {
  const keyed = services.filter((s) => s.ty === "VirtualObject" || s.ty === "Workflow");
  if (keyed.length === 0) return html`<p class="empty">No virtual object or workflow is registered: only they keep state.</p>`;
  return html`<div class="tabs">
    ${keyed.map((s) => html`<button type="button" class=${`tab ${s.name === service ? "active" : ""}`} data-service-tab=${s.name} onClick=${() => onPick(s.name)}>${s.name} <span class="tab-n">${s.ty}</span></button>`)}
  </div>`;
}

function KeyList({ service, selected }: { service: string; selected: string | null }): VNode {
  const [filter, setFilter] = useState("");
  const loaded = useLoad(
    () =>
      api.query(
        `SELECT service_key, count(*) AS n, sum(value_length) AS bytes FROM state WHERE service_name = ${lit(service)} GROUP BY service_key ORDER BY service_key LIMIT ${KEY_LIST_LIMIT}`,
      ),
    service,
    3000,
  );
  const open = (key: string) => navigate(href("/state", { service, key }));
  return html`<div class="key-list">
    <form
      class="inline-form"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        if (filter.trim() !== "") open(filter.trim());
      }}
    >
      <input name="key" placeholder="key, Enter opens it" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} />
    </form>
    <${Loading} loaded=${loaded}>
      ${(rows: Row[]) => {
        const shown = rows.filter((r) => String(r.service_key).includes(filter));
        return shown.length === 0
          ? html`<p class="muted small">${rows.length === 0 ? "No key of this service has state." : "No key matches."}</p>`
          : html`<ul class="keys">
              ${shown.map(
                (r) => html`<li>
                  <a class=${String(r.service_key) === selected ? "active" : ""} data-key=${r.service_key} href=${href("/state", { service, key: String(r.service_key) })}>
                    <span class="mono">${r.service_key}</span> <span class="muted small">${r.n} · ${size(Number(r.bytes ?? 0))}</span>
                  </a>
                </li>`,
              )}
            </ul>`;
      }}
    <//>
  </div>`;
}

interface Draft {
  readonly key: string;
  readonly text: string;
  /** Binary values are kept as they are (hex); only text values are edited. */
  readonly hex?: string;
}

function encode(d: Draft): number[] {
  return [...(d.hex !== undefined ? hexBytes(d.hex) : new TextEncoder().encode(d.text))];
}

function Editor({ service, objectKey, current, onSaved, onCancel }: { service: string; objectKey: string; current: readonly StateEntry[]; onSaved: () => void; onCancel: () => void }): VNode {
  const [drafts, setDrafts] = useState<Draft[]>(current.map((e) => (e.binary ? { key: e.key, text: e.text, hex: e.hex } : { key: e.key, text: e.text })));
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const update = (i: number, patch: Partial<Draft>) => setDrafts(drafts.map((d, j) => (i === j ? { ...d, ...patch } : d)));
  const save = async () => {
    setError(undefined);
    const keys = drafts.map((d) => d.key.trim());
    if (keys.some((k) => k === "")) return setError(new Error("every entry needs a key"));
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup !== undefined) return setError(new Error(`the key '${dup}' is there twice`));
    setBusy(true);
    try {
      await api.send("POST", `/services/${encodeURIComponent(service)}/state`, {
        object_key: objectKey,
        new_state: Object.fromEntries(drafts.map((d) => [d.key.trim(), encode(d)])),
      });
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="editor" data-editor="state">
    <p class="muted small">Saving replaces the whole state of <span class="mono">${service}/${objectKey}</span> with these entries; it is refused while an invocation holds the key.</p>
    ${drafts.map(
      (d, i) => html`<div class="editor-row" data-draft-key=${d.key}>
        <input class="mono" name="state-key" value=${d.key} placeholder="key" onInput=${(e: Event) => update(i, { key: (e.target as HTMLInputElement).value })} />
        ${d.hex !== undefined
          ? html`<pre class="value binary" title="binary values are kept as they are">${d.text}</pre>`
          : html`<textarea class="mono" name="state-value" rows=${Math.min(10, d.text.split("\n").length + 1)} value=${d.text} onInput=${(e: Event) => update(i, { text: (e.target as HTMLTextAreaElement).value })}></textarea>`}
        <button type="button" class="btn ghost" title="remove this entry" onClick=${() => setDrafts(drafts.filter((_, j) => j !== i))}>Remove</button>
      </div>`,
    )}
    <div class="editor-buttons">
      <button type="button" class="btn ghost" data-action="add-entry" onClick=${() => setDrafts([...drafts, { key: "", text: "" }])}>Add entry</button>
      <button type="button" class="btn primary" data-action="save-state" disabled=${busy} onClick=${save}>${busy ? "Saving…" : "Save state"}</button>
      <button type="button" class="btn ghost" onClick=${onCancel}>Cancel</button>
    </div>
    <${ErrorBox} title="The state was not saved" error=${error} />
  </div>`;
}

function KeyState({ service, objectKey }: { service: string; objectKey: string }): VNode {
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const loaded = useLoad(
    () => api.query(`SELECT key, value, value_length FROM state WHERE service_name = ${lit(service)} AND service_key = ${lit(objectKey)} ORDER BY key`).then(entries),
    `${service}\u0000${objectKey}`,
    editing ? null : 2000,
  );
  return html`<${Card}
    title=${html`<span class="mono">${service}/${objectKey}</span>`}
    actions=${editing
      ? null
      : html`<a class="btn ghost" href=${href("/invocations", { q: `service:${service} key:${objectKey}` })}>Invocations</a> <button class="btn" data-action="edit-state" onClick=${() => (setSaved(false), setEditing(true))}>Edit</button>`}
  >
    ${saved ? html`<p class="notice" role="status">Saved. The new state shows here once it is applied.</p>` : null}
    <${Loading} loaded=${loaded}>
      ${(state: StateEntry[]) =>
        editing
          ? html`<${Editor}
              service=${service}
              objectKey=${objectKey}
              current=${state}
              onCancel=${() => setEditing(false)}
              onSaved=${() => {
                setEditing(false);
                setSaved(true);
                loaded.reload();
              }}
            />`
          : state.length === 0
            ? html`<p class="muted">This key has no state.</p>`
            : html`<table class="table state-table">
                <thead><tr><th>Key</th><th>Value</th><th>Size</th></tr></thead>
                <tbody>
                  ${state.map(
                    (e) => html`<tr data-state-key=${e.key}>
                      <td class="mono">${e.key}</td>
                      <td><pre class=${`value ${e.binary ? "binary" : ""}`}>${e.binary ? e.text : pretty(e.text)}</pre></td>
                      <td class="small">${size(e.length)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>`}
    <//>
  <//>`;
}

export function StatePage({ route }: { route: Route }): VNode {
  const services = useLoad(() => api.get<{ services: ServiceJson[] }>("/services"), "services");
  const key = route.params.get("key");
  return html`<div>
    <${PageHeader} title="State" subtitle="The key/value state of virtual objects and workflows, by key. Edit it to repair an object." />
    <${Loading} loaded=${services}>
      ${(d: { services: ServiceJson[] }) => {
        const keyed = d.services.filter((s) => s.ty === "VirtualObject" || s.ty === "Workflow");
        const service = route.params.get("service") ?? keyed[0]?.name ?? "";
        return html`
          <${ServicePicker} services=${d.services} service=${service} onPick=${(s: string) => navigate(href("/state", { service: s }))} />
          ${service === ""
            ? null
            : !keyed.some((s) => s.name === service)
              ? html`<${ErrorBox} error=${`'${service}' is not a virtual object or workflow, so it has no state`} />`
              : html`<div class="split">
                  <${Card} title="Keys"><${KeyList} service=${service} selected=${key} /><//>
                  <div>${key === null ? html`<p class="muted">Pick a key to see its state.</p>` : html`<${KeyState} key=${`${service}/${key}`} service=${service} objectKey=${key} />`}</div>
                </div>`}
        `;
      }}
    <//>
  </div>`;
}
