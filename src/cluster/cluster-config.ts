import type { Role } from "../metadata/documents.ts";
import { BadRequestError } from "../types/errors.ts";

/** The roles a Reprise node can run separately today; ingress and admin come with the worker. */
export type ClusterRole = Extract<Role, "worker" | "log-server">;

export const CLUSTER_ROLES: readonly ClusterRole[] = ["worker", "log-server"];
/** What a cluster node runs when no roles are given. */
export const DEFAULT_CLUSTER_ROLES: readonly ClusterRole[] = ["worker", "log-server"];

export type MetadataAddress = { readonly kind: "embedded" } | { readonly kind: "etcd"; readonly endpoints: readonly string[] };

/** `embedded`, or `etcd://host:port[,host:port...]` (etcd client URLs over plain HTTP). */
export function parseMetadataAddress(spec: string): MetadataAddress {
  if (spec === "embedded") return { kind: "embedded" };
  const prefix = "etcd://";
  if (!spec.startsWith(prefix)) throw new BadRequestError(`expected 'embedded' or 'etcd://host:port[,host:port]', got '${spec}'`);
  const members = spec.slice(prefix.length).split(",");
  return { kind: "etcd", endpoints: members.map((m) => `http://${formatHostPort(parseHostPort(m.trim()))}`) };
}

/** Role names, validated; duplicates collapse. */
export function parseRoles(roles: readonly string[]): ClusterRole[] {
  const out = new Set<ClusterRole>();
  for (const role of roles) {
    if ((CLUSTER_ROLES as readonly string[]).includes(role)) {
      out.add(role as ClusterRole);
    } else if (role === "admin" || role === "http-ingress") {
      throw new BadRequestError(`role '${role}' runs with the worker role here, not on its own; roles are ${CLUSTER_ROLES.join(", ")}`);
    } else if (role === "metadata-server") {
      throw new BadRequestError(`role 'metadata-server' is not available; run etcd and pass --metadata etcd://host:port`);
    } else {
      throw new BadRequestError(`unknown role '${role}'; roles are ${CLUSTER_ROLES.join(", ")}`);
    }
  }
  return [...out];
}

/** `host:port` with an explicit, non-zero port: peers connect to exactly this. */
export function parseAdvertisedAddress(address: string): { host: string; port: number } {
  return parseHostPort(address);
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function parseHostPort(text: string): { host: string; port: number } {
  const m = HOST_PORT.exec(text);
  if (m === null) throw new BadRequestError(`'${text}' is not a host:port address`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new BadRequestError(`'${text}' needs a port 1..65535`);
  return { host: m[1], port };
}

export function formatHostPort(a: { host: string; port: number }): string {
  return `${a.host}:${a.port}`;
}
