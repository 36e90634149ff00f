import { resolve } from "node:path";
import type { ReadyEvent } from "../../src/cluster/ready-event.ts";
import { PlainNodeId, type GenerationalNodeId } from "../../src/types/ids.ts";
import { startReadyChild, type NodeChildOptions, type ReadyChild } from "./process.ts";

const REPRISE = resolve(import.meta.dirname, "../../bin/reprise.js");
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

/** Runs the real CLI (`node [nodeArgs] bin/reprise.js server ...`) and waits for its ready line. */
export async function startRepriseServer(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  opts: Pick<NodeChildOptions, "nodeArgs"> & { readyTimeoutMs?: number } = {},
): Promise<RepriseProcess> {
  const child = await startReadyChild(REPRISE, ["server", ...args], { env, nodeArgs: opts.nodeArgs, readyTimeoutMs: opts.readyTimeoutMs ?? READY_TIMEOUT_MS });
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
