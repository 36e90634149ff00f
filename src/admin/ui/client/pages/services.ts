import type { VNode } from "preact";
import { api } from "../api.ts";
import type { ServiceJson } from "../admin-types.ts";
import { Card, Fields, Loading, PageHeader } from "../components.ts";
import { countsOverall } from "../counts.ts";
import { lit } from "../api.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";
import { href } from "../router.ts";
import { StatusCounts } from "./overview.ts";

const KEYED = new Set(["VirtualObject", "Workflow"]);

export function ServicesPage(): VNode {
  const loaded = useLoad(() => api.get<{ services: ServiceJson[] }>("/services"), "services", 5000);
  return html`<div>
    <${PageHeader} title="Services" subtitle="Services and their handlers, as the registered deployments declare them." />
    <${Loading} loaded=${loaded}>
      ${(d: { services: ServiceJson[] }) =>
        d.services.length === 0
          ? html`<p class="empty">No services. <a href=${href("/deployments")}>Register a deployment</a>.</p>`
          : d.services.map(
              (s) => html`<${Card}
                title=${html`<a href=${href(`/services/${encodeURIComponent(s.name)}`)}>${s.name}</a> <span class="tag">${s.ty}</span>${s.public ? null : html` <span class="tag">private</span>`}`}
                actions=${html`<a class="btn ghost" href=${href("/invocations", { q: `service:${s.name}` })}>Invocations</a>${KEYED.has(s.ty) ? html` <a class="btn ghost" href=${href("/state", { service: s.name })}>State</a>` : null}`}
              >
                <${HandlerTable} service=${s} />
              <//>`,
            )}
    <//>
  </div>`;
}

function HandlerTable({ service }: { service: ServiceJson }): VNode {
  return html`<table class="table" data-service=${service.name}>
    <thead><tr><th>Handler</th><th>Type</th><th>Input</th><th>Output</th><th>Public</th><th></th></tr></thead>
    <tbody>
      ${service.handlers.map(
        (h) => html`<tr data-handler=${h.name}>
          <td><code>${h.name}</code>${h.documentation ? html`<div class="muted small">${h.documentation}</div>` : null}</td>
          <td>${h.ty ?? ""}</td>
          <td class="small mono">${h.input_description ?? ""}</td>
          <td class="small mono">${h.output_description ?? ""}</td>
          <td>${h.public === false ? "no" : "yes"}</td>
          <td><a class="small" href=${href("/invocations", { q: `service:${service.name} handler:${h.name}` })}>invocations</a></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

export function ServicePage({ name }: { name: string }): VNode {
  const loaded = useLoad(
    async () => {
      const [service, counts] = await Promise.all([api.get<ServiceJson>(`/services/${encodeURIComponent(name)}`), countsOverall(`WHERE target_service_name = ${lit(name)}`)]);
      return { service, counts };
    },
    name,
    3000,
  );
  return html`<div>
    <p class="crumbs"><a href=${href("/services")}>Services</a> / ${name}</p>
    <${PageHeader} title=${name} />
    <${Loading} loaded=${loaded}>
      ${({ service: s, counts }: { service: ServiceJson; counts: Awaited<ReturnType<typeof countsOverall>> }) => html`
        <${Card} title="Invocations"><${StatusCounts} counts=${counts} extra=${`service:${s.name}`} /><//>
        <${Card} title="Service">
          <${Fields}
            fields=${[
              ["Type", s.ty],
              ["Deployment", html`<a class="mono" href=${href("/deployments")}>${s.deployment_id}</a>`],
              ["Revision", String(s.revision)],
              ["Public", s.public ? "yes" : "no"],
              ["Idempotency retention", s.idempotency_retention],
              ["Workflow retention", s.workflow_completion_retention],
              ["Inactivity timeout", s.inactivity_timeout],
              ["Abort timeout", s.abort_timeout],
              ["Documentation", s.documentation],
              ["State", KEYED.has(s.ty) ? html`<a href=${href("/state", { service: s.name })}>browse keys</a>` : null],
            ]}
          />
        <//>
        <${Card} title="Handlers"><${HandlerTable} service=${s} /><//>
      `}
    <//>
  </div>`;
}
