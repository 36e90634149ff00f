import { loadConfig } from "../../src/cluster/config.ts";
import { Node } from "../../src/cluster/node.ts";

export { eventually } from "./eventually.ts";
export { tempDir } from "./temp.ts";

/**
 * An in-process single-node server on loopback with ephemeral ports. Its two partitions run on two
 * partition threads (whatever the machine's cores), so every in-process test goes through them; a
 * `reprise server` child on this machine's defaults runs them on its main thread.
 */
export async function startInProcess(baseDir: string, overrides: Record<string, unknown> = {}): Promise<Node> {
  const config = loadConfig({
    overrides: { baseDir, bindAddress: "127.0.0.1", ingress: { port: 0 }, admin: { port: 0 }, nodeToNode: { port: 0 }, partitions: 2, worker: { threads: 2 }, ...overrides },
  });
  return Node.start(config);
}

/** POST /deployments; `extra` adds fields of Restate's request (`force`, `dry_run`, `use_http_11`, ...). */
export async function registerDeployment(admin: string, uri: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${admin}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri, ...extra }),
  });
}

export async function callJson(ingress: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ingress}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
