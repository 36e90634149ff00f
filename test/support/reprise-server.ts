import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ReadyEvent } from "../../src/cluster/ready-event.ts";
import { PlainNodeId, type GenerationalNodeId } from "../../src/types/ids.ts";
import { startReadyChild, type NodeChildOptions, type ReadyChild } from "./process.ts";

export const REPRISE = resolve(import.meta.dirname, "../../bin/reprise.js");

/**
 * The `node` flags of the CLI's shebang (`#!/usr/bin/env -S node <flags>`): a server a test or
 * benchmark starts runs with the heap settings an installed `reprise` runs with.
 */
export const REPRISE_NODE_FLAGS: readonly string[] = (() => {
  const shebang = readFileSync(REPRISE, "utf8").split("\n", 1)[0];
  const m = /^#!\/usr\/bin\/env -S node((?: --[^\s]+)*)$/.exec(shebang);
  if (m === null) throw new Error(`${REPRISE}: first line is not "#!/usr/bin/env -S node [--flag ...]": ${shebang}`);
  return m[1].split(" ").filter(Boolean);
})();
const READY_TIMEOUT_MS = 45_000;

/** A `reprise server` process started by a test; stopped by its pid. */
export interface RepriseProcess extends ReadyChild {
  /** Plain node id from the ready line's `node` (`N<id>:<generation>`); NaN on a single node. */
  readonly nodeId: number;
  readonly nodePort: number;
  kill9(): Promise<void>;
}

/** A single-node `reprise server` with its client and admin base URLs. */
export interface ServerProcess extends RepriseProcess {
  readonly ingress: string;
  readonly admin: string;
}

/** `N<id>:<generation>` of a ready line, as a node id. */
export function readyNode(ready: ReadyEvent): GenerationalNodeId {
  const m = /^N(\d+):(\d+)$/.exec(ready.node ?? "");
  if (m === null) throw new Error(`ready line without a node id: ${JSON.stringify(ready)}`);
  return { id: PlainNodeId(Number(m[1])), generation: Number(m[2]) };
}

/** Runs the real CLI (`node <shebang flags> [nodeArgs] bin/reprise.js server ...`) and waits for its ready line. */
export async function startRepriseServer(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  opts: Pick<NodeChildOptions, "nodeArgs"> & { readyTimeoutMs?: number } = {},
): Promise<RepriseProcess> {
  const child = await startReadyChild(REPRISE, ["server", ...args], { env, nodeArgs: [...REPRISE_NODE_FLAGS, ...(opts.nodeArgs ?? [])], readyTimeoutMs: opts.readyTimeoutMs ?? READY_TIMEOUT_MS });
  return {
    ...child,
    nodeId: child.ready.node === undefined ? NaN : readyNode(child.ready).id,
    nodePort: child.ready.nodePort ?? NaN,
    kill9: () => child.kill("SIGKILL"),
  };
}

/** A single node on loopback in its own process (so tests can kill -9 it); ports 0 unless given. */
export async function startServerProcess(baseDir: string, args: readonly string[] = [], ports?: { ingress: number; admin: number }): Promise<ServerProcess> {
  const server = await startRepriseServer(
    [
      ...["--base-dir", baseDir, "--bind-address", "127.0.0.1"],
      ...["--ingress-port", String(ports?.ingress ?? 0), "--admin-port", String(ports?.admin ?? 0), "--node-port", "0"],
      ...args,
    ],
    {},
    { readyTimeoutMs: 30_000 },
  );
  return { ...server, ingress: `http://127.0.0.1:${server.ready.ingress}`, admin: `http://127.0.0.1:${server.ready.admin}` };
}
