import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { metadataServiceImpl } from "../../src/net/metadata-service.ts";
import { MetadataService } from "../../src/net/gen/metadata_pb.ts";
import { RpcServer } from "../../src/net/server.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const LOG_SERVER_MAIN = fileURLToPath(new URL("../../src/cluster/log-server-main.ts", import.meta.url));

/** The cluster's metadata, served from the test process to its child processes. */
export async function startMetadataService(): Promise<{ store: InMemoryMetadataStore; address: string; close: () => Promise<void> }> {
  const store = new InMemoryMetadataStore();
  const server = new RpcServer({ port: 0 }).register(MetadataService, metadataServiceImpl(store));
  const port = await server.listen();
  return { store, address: `127.0.0.1:${port}`, close: () => server.close() };
}

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every stdout line that parsed as JSON. */
  readonly events: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  /** Resolves with the first event matching `pred`. */
  waitFor(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs a TypeScript entry point in a child node process; stdout lines are JSON events, stderr is passed through. */
export function spawnTs(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, REPRISE_LOG_LEVEL: process.env.REPRISE_LOG_LEVEL ?? "warn", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const events: Array<Record<string, unknown>> = [];
  const listeners = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return; // not an event line
    }
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    process: proc,
    pid: proc.pid!,
    events,
    exited,
    waitFor(pred, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = events.find(pred);
          if (!hit) return;
          cleanup();
          resolve(hit);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`child ${proc.pid} (${entry}): no matching event within ${timeoutMs} ms`));
        }, timeoutMs);
        void exited.then((code) => {
          if (!listeners.has(check)) return;
          cleanup();
          reject(new Error(`child ${proc.pid} (${entry}) exited with ${code} before the awaited event`));
        });
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill(signal = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, signal);
      await exited;
    },
  };
}

export interface LogServerProcess extends Child {
  readonly port: number;
  readonly generation: number;
}

/**
 * Starts log server `n<id>`. Names join in order, so on a fresh store start ids 1, 2, 3... one after
 * another; a restart keeps the id.
 */
export async function spawnLogServer(id: number, dataDir: string, metadataAddress: string, cluster: string): Promise<LogServerProcess> {
  const child = spawnTs(LOG_SERVER_MAIN, [
    "--node-name",
    `n${id}`,
    "--data-dir",
    dataDir,
    "--metadata",
    `rpc://${metadataAddress}`,
    "--cluster",
    cluster,
  ]);
  try {
    const ready = await child.waitFor((e) => e.event === "ready");
    const node = ready.node as { id: number; generation: number };
    if (node.id !== id) throw new Error(`log server n${id} joined as N${node.id}: start log servers in id order on a fresh metadata store`);
    return { ...child, port: ready.port as number, generation: node.generation };
  } catch (e) {
    await child.kill();
    throw e;
  }
}
