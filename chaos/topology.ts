/**
 * Who is who inside the harness's network namespace. Each node has its own loopback address and
 * its own uid: its etcd member and its Reprise process run as that uid, so the firewall can tell
 * their traffic apart (a socket that does not bind its local address leaves from 127.0.0.1, so
 * source addresses say nothing; see firewall.ts).
 */

export type RoleLayout = "first" | "all";

export interface NodeSpec {
  /** `n1`, `n2`, ...: the Reprise node name and the etcd member name's suffix. */
  readonly name: string;
  /** 1-based; also the conntrack mark the firewall gives connections this node opens. */
  readonly index: number;
  readonly address: string;
  readonly uid: number;
  readonly gid: number;
  readonly roles: readonly ("worker" | "log-server")[];
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly nodePort: number;
  /** Client and admin ports; used only when the node has the worker role. */
  readonly ingressPort: number;
  readonly adminPort: number;
}

/** The SDK endpoint's address: outside every node, never cut by a fault. */
export const SERVICE_ADDRESS = "127.0.0.20";
export const SERVICE_PORT = 9080;

/** Far above the system's users, below the 16-bit overflow uid; none of them exists in /etc/passwd, which spawn does not need. */
const UID_BASE = 64_010;

/**
 * `first`: only n1 runs the worker (today's clusters refuse a second worker); `all`: every node
 * is worker and log server, for when partitions have replicas. Set with CHAOS_ROLES.
 */
export function parseRoleLayout(value: string | undefined): RoleLayout {
  if (value === undefined || value === "" || value === "all") return "all";
  if (value === "first") return "first";
  throw new Error(`CHAOS_ROLES must be 'first' (n1 is the only worker) or 'all' (every node is a worker), got '${value}'`);
}

export function clusterTopology(nodeCount: number, layout: RoleLayout): NodeSpec[] {
  if (nodeCount < 1 || nodeCount > 9) throw new Error(`the harness runs 1 to 9 nodes (addresses 127.0.0.11..19), got ${nodeCount}`);
  return Array.from({ length: nodeCount }, (_, i) => {
    const index = i + 1;
    const worker = layout === "all" || index === 1;
    return {
      name: `n${index}`,
      index,
      address: `127.0.0.${10 + index}`,
      uid: UID_BASE + index,
      gid: UID_BASE + index,
      roles: worker ? ["worker", "log-server"] : ["log-server"],
      etcdClientPort: 2379,
      etcdPeerPort: 2380,
      nodePort: 5122,
      ingressPort: 8080,
      adminPort: 9070,
    };
  });
}

export function hasIngress(node: NodeSpec): boolean {
  return node.roles.includes("worker");
}
