import { render, type VNode } from "preact";
import "./styles.css";
import { api } from "./api.ts";
import { ErrorBoundary } from "./components.ts";
import { useLoad } from "./hooks.ts";
import { html } from "./html.ts";
import { ClusterPage } from "./pages/cluster.ts";
import { DeploymentsPage } from "./pages/deployments.ts";
import { InvocationPage } from "./pages/invocation.ts";
import { InvocationsPage } from "./pages/invocations.ts";
import { OverviewPage } from "./pages/overview.ts";
import { ServicePage, ServicesPage } from "./pages/services.ts";
import { SqlPage } from "./pages/sql.ts";
import { StatePage } from "./pages/state.ts";
import { href, interceptLinks, useRoute, type Route } from "./router.ts";

const NAV = [
  ["/", "Overview"],
  ["/invocations", "Invocations"],
  ["/services", "Services"],
  ["/deployments", "Deployments"],
  ["/state", "State"],
  ["/sql", "SQL console"],
  ["/cluster", "Cluster"],
] as const;

function page(route: Route): VNode {
  const [, first, ...rest] = route.path.split("/").map(decodeURIComponent);
  switch (first) {
    case "":
      return html`<${OverviewPage} />`;
    case "invocations":
      return rest.length > 0 ? html`<${InvocationPage} id=${rest[0]} />` : html`<${InvocationsPage} route=${route} />`;
    case "services":
      return rest.length > 0 ? html`<${ServicePage} name=${rest[0]} />` : html`<${ServicesPage} />`;
    case "deployments":
      return html`<${DeploymentsPage} />`;
    case "state":
      return html`<${StatePage} route=${route} />`;
    case "sql":
      return html`<${SqlPage} route=${route} />`;
    case "cluster":
      return html`<${ClusterPage} />`;
    default:
      return html`<div class="error-box" role="alert"><div class="error-title">No such page</div><pre class="error-message">${route.path}</pre></div>`;
  }
}

function Sidebar({ route }: { route: Route }): VNode {
  const version = useLoad(() => api.get<{ version?: string }>("/version"), "version", 10_000);
  const section = "/" + (route.path.split("/")[1] ?? "");
  return html`<nav class="sidebar">
    <a class="brand" href=${href("/")}>
      <span class="logo">R</span>
      <span>
        <strong>Reprise</strong>
        <span class=${`health ${version.error ? "down" : version.data ? "up" : ""}`} title=${version.error ? "the admin API does not answer" : "admin API reachable"}></span>
        <small>${version.data?.version ? `v${version.data.version}` : ""}</small>
      </span>
    </a>
    ${NAV.map(([path, label]) => html`<a class=${`nav-item ${section === path ? "active" : ""}`} href=${href(path)}>${label}</a>`)}
  </nav>`;
}

function App(): VNode {
  const route = useRoute();
  return html`<div class="shell">
    <${Sidebar} route=${route} />
    <main class="content">
      <${ErrorBoundary} key=${route.path}>${page(route)}<//>
    </main>
  </div>`;
}

const root = document.getElementById("app")!;
root.setAttribute("data-started", "");
root.textContent = "";
interceptLinks();
render(html`<${App} />`, root);
