import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import type { DeploymentJson, ServiceJson } from "../admin-types.ts";
import { Card, ErrorBox, Loading, PageHeader, Time } from "../components.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";
import { href } from "../router.ts";

interface Registered {
  readonly id: string;
  readonly services: readonly ServiceJson[];
}

/** `Name: value` lines to the `additional_headers` object. */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    const i = line.indexOf(":");
    if (i <= 0) throw new Error(`header line '${line}' is not 'Name: value'`);
    headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return headers;
}

function RegisterForm({ onRegistered }: { onRegistered: () => void }): VNode {
  const [uri, setUri] = useState("");
  const [headers, setHeaders] = useState("");
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: Registered } | { error: unknown } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    try {
      const ok = await api.send<Registered>("POST", "/deployments", { uri: uri.trim(), additional_headers: parseHeaders(headers), force });
      setResult({ ok });
      onRegistered();
    } catch (error) {
      setResult({ error });
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="form" onSubmit=${submit} data-form="register-deployment">
    <label>Endpoint URI <input name="uri" class="mono" required value=${uri} placeholder="http://localhost:9080" onInput=${(e: Event) => setUri((e.target as HTMLInputElement).value)} /></label>
    <label>Additional headers <span class="muted small">(one <code>Name: value</code> per line, sent with every request to it)</span>
      <textarea name="headers" class="mono" rows="2" value=${headers} onInput=${(e: Event) => setHeaders((e.target as HTMLTextAreaElement).value)}></textarea>
    </label>
    <label class="inline"><input type="checkbox" checked=${force} onChange=${(e: Event) => setForce((e.target as HTMLInputElement).checked)} /> Force: replace a deployment at the same URI, even if its services changed incompatibly</label>
    <div><button class="btn primary" type="submit" disabled=${busy}>${busy ? "Registering…" : "Register deployment"}</button></div>
    ${result && "ok" in result
      ? html`<p class="notice" role="status">Registered <span class="mono">${result.ok.id}</span> with ${result.ok.services.map((s) => s.name).join(", ") || "no services"}.</p>`
      : null}
    ${result && "error" in result ? html`<${ErrorBox} title="The deployment was not registered" error=${result.error} />` : null}
  </form>`;
}

function Deployment({ d, onRemoved }: { d: DeploymentJson; onRemoved: () => void }): VNode {
  const [error, setError] = useState<unknown>(undefined);
  const [confirm, setConfirm] = useState(false);
  const remove = async () => {
    try {
      await api.send("DELETE", `/deployments/${encodeURIComponent(d.id)}?force=true`);
      onRemoved();
    } catch (e) {
      setError(e);
    } finally {
      setConfirm(false);
    }
  };
  return html`<${Card}
    title=${html`<span class="mono">${d.id}</span>`}
    actions=${confirm
      ? html`<span class="small">Remove it? Its services go with it.</span> <button class="btn danger" data-confirm="remove" onClick=${remove}>Remove</button> <button class="btn ghost" onClick=${() => setConfirm(false)}>Keep</button>`
      : html`<button class="btn ghost" data-action="remove" onClick=${() => setConfirm(true)}>Remove…</button>`}
  >
    <div class="deployment" data-deployment=${d.id}>
      <div><span class="muted small">endpoint</span> <span class="mono">${d.uri ?? ""}</span></div>
      <div class="small muted">
        ${d.protocol_type ?? ""} · ${d.http_version ?? ""} · protocol ${d.min_protocol_version ?? "?"}–${d.max_protocol_version ?? "?"} ${d.sdk_version ? html`· ${d.sdk_version}` : null} · created <${Time} ts=${d.created_at} />
      </div>
      ${d.additional_headers && Object.keys(d.additional_headers).length > 0
        ? html`<div class="small"><span class="muted">headers</span> ${Object.keys(d.additional_headers).map((h) => html`<code>${h}</code> `)}</div>`
        : null}
      <div class="service-list">
        ${d.services.map((s) => html`<a class="tag" href=${href(`/services/${encodeURIComponent(s.name)}`)}>${s.name} · ${s.ty} · ${s.handlers.length} handlers</a>`)}
      </div>
      <${ErrorBox} title="The deployment was not removed" error=${error} />
    </div>
  <//>`;
}

export function DeploymentsPage(): VNode {
  const loaded = useLoad(() => api.get<{ deployments: DeploymentJson[] }>("/deployments"), "deployments", 5000);
  return html`<div>
    <${PageHeader} title="Deployments" subtitle="Endpoints serving services with a Restate SDK. Registering one discovers its services." />
    <${Card} title="Register a deployment"><${RegisterForm} onRegistered=${loaded.reload} /><//>
    <${Loading} loaded=${loaded}>
      ${(d: { deployments: DeploymentJson[] }) =>
        d.deployments.length === 0 ? html`<p class="empty">No deployments yet.</p>` : d.deployments.map((x) => html`<${Deployment} key=${x.id} d=${x} onRemoved=${loaded.reload} />`)}
    <//>
  </div>`;
}
