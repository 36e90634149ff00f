import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { Card, LiveToggle, Loading, PageHeader } from "../components.ts";
import { countsOverall, countsPerService, SHOWN_STATUSES, type Counts } from "../counts.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";
import { href } from "../router.ts";
import type { ServiceJson } from "../admin-types.ts";

interface Overview {
  readonly overall: Counts;
  readonly perService: Map<string, Counts>;
  readonly services: readonly ServiceJson[];
  readonly deployments: number;
}

async function loadOverview(): Promise<Overview> {
  const [overall, perService, services, deployments] = await Promise.all([
    countsOverall(""),
    countsPerService(""),
    api.get<{ services: ServiceJson[] }>("/services"),
    api.get<{ deployments: unknown[] }>("/deployments"),
  ]);
  return { overall, perService, services: services.services, deployments: deployments.deployments.length };
}

/** Status chips with counts; each opens the invocations list filtered to that status (and `extra`). */
export function StatusCounts({ counts, extra = "" }: { counts: Counts; extra?: string }): VNode {
  return html`<div class="status-counts">
    <a class="count-chip total" href=${href("/invocations", { q: extra })}><span class="count-n">${counts.total}</span> all</a>
    ${SHOWN_STATUSES.map(
      (s) =>
        html`<a class=${`count-chip status-${s} ${(counts.byStatus.get(s) ?? 0) === 0 ? "zero" : ""}`} data-status=${s} href=${href("/invocations", { q: `${extra} status:${s}`.trim() })}>
          <span class="count-n">${counts.byStatus.get(s) ?? 0}</span> ${s}
        </a>`,
    )}
  </div>`;
}

/** A stacked bar of a service's statuses. */
function StatusBar({ counts }: { counts: Counts }): VNode {
  return html`<div class="status-bar" title=${[...counts.byStatus].map(([s, n]) => `${s}: ${n}`).join(", ")}>
    ${SHOWN_STATUSES.filter((s) => (counts.byStatus.get(s) ?? 0) > 0).map(
      (s) => html`<span class=${`seg status-${s}`} style=${{ flexGrow: counts.byStatus.get(s) }}></span>`,
    )}
  </div>`;
}

export function OverviewPage(): VNode {
  const [live, setLive] = useState(true);
  const loaded = useLoad(loadOverview, "overview", live ? 2000 : null);
  return html`<div>
    <${PageHeader} title="Overview" subtitle="Invocations on this node by status and by service.">
      <${LiveToggle} live=${live} onChange=${setLive} at=${loaded.at} loading=${loaded.loading} />
    <//>
    <${Loading} loaded=${loaded}>
      ${(o: Overview) => html`
        <${Card} title=${html`Invocations <span class="muted">${o.overall.total}</span>`}>
          <${StatusCounts} counts=${o.overall} />
        <//>
        <${Card} title=${html`Services <span class="muted">${o.services.length} services · ${o.deployments} deployments</span>`}>
          ${o.services.length === 0
            ? html`<p class="muted">No services yet. <a href=${href("/deployments")}>Register a deployment</a> to add some.</p>`
            : html`<table class="table">
                <thead>
                  <tr><th>Service</th><th>Type</th><th>Handlers</th><th>Not completed</th><th>Total</th><th>By status</th><th>Deployment</th></tr>
                </thead>
                <tbody>
                  ${o.services.map((s) => {
                    const c = o.perService.get(s.name) ?? { total: 0, byStatus: new Map() };
                    const open = c.total - (c.byStatus.get("succeeded") ?? 0) - (c.byStatus.get("failed") ?? 0);
                    return html`<tr data-service=${s.name}>
                      <td><a href=${href(`/services/${encodeURIComponent(s.name)}`)}><strong>${s.name}</strong></a></td>
                      <td><span class="tag">${s.ty}</span></td>
                      <td>${s.handlers.length}</td>
                      <td><a href=${href("/invocations", { q: `service:${s.name} status:!succeeded,failed` })}>${open}</a></td>
                      <td><a href=${href("/invocations", { q: `service:${s.name}` })}>${c.total}</a></td>
                      <td class="bar-cell"><${StatusBar} counts=${c} /></td>
                      <td class="mono small">${s.deployment_id}</td>
                    </tr>`;
                  })}
                </tbody>
              </table>`}
        <//>
      `}
    <//>
  </div>`;
}
