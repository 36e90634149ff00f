import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

const REPRISE = resolve(import.meta.dirname, "../../bin/reprise.js");
const READY_TIMEOUT_MS = 45_000;
const STOP_GRACE_MS = 10_000;

/** The key=value pairs of a `REPRISE_READY` line, e.g. `{ ingress: "8080", node: "N1:1", "node-port": "5122" }`. */
export type ReadyInfo = Readonly<Record<string, string>>;

/** A `reprise server` process started by a test; stopped by its pid. */
export interface RepriseProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ready: ReadyInfo;
  /** Plain node id from `node=N<id>:<generation>`. */
  readonly nodeId: number;
  readonly nodePort: number;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs the real CLI (`node [nodeArgs] bin/reprise.js server ...`) and waits for its ready line. */
export async function startRepriseServer(args: readonly string[], env: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []): Promise<RepriseProcess> {
  const child = spawn(process.execPath, [...nodeArgs, REPRISE, "server", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, REPRISE_LOG_LEVEL: process.env.REPRISE_LOG_LEVEL ?? "warn", ...env },
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill9 = async (): Promise<void> => {
    if (alive()) child.kill("SIGKILL");
    await exited;
  };
  let ready: ReadyInfo;
  try {
    ready = await new Promise<ReadyInfo>((resolveReady, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`reprise server ${args.join(" ")} not ready in ${READY_TIMEOUT_MS} ms; stderr: ${stderr}`)), READY_TIMEOUT_MS);
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /REPRISE_READY (.*)\n/.exec(out);
        if (m === null) return;
        clearTimeout(timer);
        resolveReady(Object.fromEntries(m[1].trim().split(/\s+/).map((kv) => kv.split("=") as [string, string])));
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`reprise server exited with ${code} before ready; stderr: ${stderr}`));
      });
    });
  } catch (e) {
    await kill9();
    throw e;
  }
  return {
    child,
    pid: child.pid!,
    ready,
    nodeId: Number(/^N(\d+):/.exec(ready.node ?? "")?.[1] ?? NaN),
    nodePort: Number(ready["node-port"]),
    kill9,
    stop: async () => {
      if (!alive()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
