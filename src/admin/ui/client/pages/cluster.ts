import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { Card, LiveToggle, Loading, PageHeader } from "../components.ts";
import { duration } from "../format.ts";
import { html } from "../html.ts";
import { useLoad } from "../hooks.ts";

// The JSON of GET /cluster/status (src/admin/cluster-status.ts).
interface ClusterStatus {
  readonly cluster_name: string;
  readonly node_id: number;
  readonly log_provider: string;
  readonly nodes: readonly { id: number; generation: number; name: string; address: string; roles: string[]; state: string; uptime_s?: number; log_server_state?: string }[];
  readonly partitions: readonly {
    id: number;
    key_range: { from: string; to: string };
    log_id: number;
    planned_leader?: number;
    planned_followers: number[];
    replicas: { node_id: number; mode: string; leader_epoch: number; applied_lsn: number; target_tail_lsn?: number; observed_leader?: number }[];
  }[];
  readonly logs: readonly {
    id: number;
    segments: { index: number; base_lsn: number; provider: string; params: Record<string, unknown> }[];
    tail?: { lsn: number; sealed: boolean; segment_index: number };
    trim_point?: number;
  }[];
}

const node = (id: number | undefined) => (id === undefined ? "—" : `N${id}`);

/** A segment's parameters in a line: sequencer, nodeset, replication... */
function params(p: Record<string, unknown>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" ");
}

export function ClusterPage(): VNode {
  const [live, setLive] = useState(true);
  const loaded = useLoad(() => api.get<ClusterStatus>("/cluster/status"), "cluster", live ? 2000 : null);
  return html`<div>
    <${PageHeader} title="Cluster" subtitle="Nodes, partitions and logs, as this node sees them (what restatectl status shows).">
      <${LiveToggle} live=${live} onChange=${setLive} at=${loaded.at} loading=${loaded.loading} />
    <//>
    <${Loading} loaded=${loaded}>
      ${(c: ClusterStatus) => html`
        <${Card} title=${html`Nodes <span class="muted">cluster ${c.cluster_name} · answered by ${node(c.node_id)}</span>`}>
          <table class="table" data-table="nodes">
            <thead><tr><th>Node</th><th>Name</th><th>State</th><th>Address</th><th>Roles</th><th>Uptime</th><th>Log server</th></tr></thead>
            <tbody>
              ${c.nodes.map(
                (n) => html`<tr data-node=${n.id}>
                  <td class="mono">N${n.id}:${n.generation}</td>
                  <td>${n.name}</td>
                  <td><span class=${`badge node-${n.state}`}>${n.state}</span></td>
                  <td class="mono small">${n.address}</td>
                  <td>${n.roles.map((r) => html`<span class="tag">${r}</span> `)}</td>
                  <td class="small">${n.uptime_s === undefined ? "" : duration(n.uptime_s * 1000)}</td>
                  <td class="small">${n.log_server_state ?? ""}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        <//>
        <${Card} title=${html`Partitions <span class="muted">${c.partitions.length}</span>`}>
          <table class="table" data-table="partitions">
            <thead><tr><th>Partition</th><th>Keys</th><th>Log</th><th>Planned leader</th><th>Replica</th><th>Mode</th><th>Epoch</th><th>Applied LSN</th><th>Log tail</th><th>Lag</th></tr></thead>
            <tbody>
              ${c.partitions.flatMap((p) => {
                const replicas = p.replicas.length > 0 ? p.replicas : [undefined];
                return replicas.map(
                  (r, i) => html`<tr data-partition=${p.id}>
                    ${i === 0
                      ? html`<td rowspan=${replicas.length} class="mono">${p.id}</td>
                          <td rowspan=${replicas.length} class="mono small" title=${`${p.key_range.from}..${p.key_range.to}`}>${BigInt(p.key_range.from).toString(16).padStart(16, "0").slice(0, 4)}…–${BigInt(p.key_range.to).toString(16).slice(0, 4)}…</td>
                          <td rowspan=${replicas.length} class="mono">${p.log_id}</td>
                          <td rowspan=${replicas.length}>${node(p.planned_leader)}${p.planned_followers.length ? html` <span class="muted small">+ ${p.planned_followers.map(node).join(", ")}</span>` : null}</td>`
                      : null}
                    ${r === undefined
                      ? html`<td colspan="6" class="muted">no live replica reports this partition</td>`
                      : html`<td>${node(r.node_id)}</td>
                          <td><span class=${`badge mode-${r.mode}`}>${r.mode}</span></td>
                          <td class="mono">${r.leader_epoch}</td>
                          <td class="mono">${r.applied_lsn}</td>
                          <td class="mono">${r.target_tail_lsn ?? ""}</td>
                          <td class="mono">${r.target_tail_lsn === undefined ? "" : Math.max(0, r.target_tail_lsn - 1 - r.applied_lsn)}</td>`}
                  </tr>`,
                );
              })}
            </tbody>
          </table>
        <//>
        <${Card} title=${html`Logs <span class="muted">${c.logs.length} · new segments: ${c.log_provider}</span>`}>
          <table class="table" data-table="logs">
            <thead><tr><th>Log</th><th>Tail LSN</th><th>Trim point</th><th>Segment</th><th>Base LSN</th><th>Provider</th><th>Parameters</th></tr></thead>
            <tbody>
              ${c.logs.flatMap((l) =>
                l.segments.map(
                  (s, i) => html`<tr data-log=${l.id}>
                    ${i === 0
                      ? html`<td rowspan=${l.segments.length} class="mono">${l.id}</td>
                          <td rowspan=${l.segments.length} class="mono">${l.tail ? `${l.tail.lsn}${l.tail.sealed ? " (sealed)" : ""}` : ""}</td>
                          <td rowspan=${l.segments.length} class="mono">${l.trim_point ?? ""}</td>`
                      : null}
                    <td class="mono">${s.index}${l.tail?.segment_index === s.index ? html` <span class="tag">tail</span>` : null}</td>
                    <td class="mono">${s.base_lsn}</td>
                    <td>${s.provider}</td>
                    <td class="mono small">${params(s.params)}</td>
                  </tr>`,
                ),
              )}
            </tbody>
          </table>
        <//>
      `}
    <//>
  </div>`;
}
