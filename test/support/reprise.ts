import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { loadConfig } from "../../src/cluster/config.ts";
import { Node } from "../../src/cluster/node.ts";

const REPO = resolve(import.meta.dirname, "../..");

export { tempDir } from "./temp.ts";

/** An in-process single-node server on loopback with ephemeral ports. */
export async function startInProcess(baseDir: string, overrides: Record<string, unknown> = {}): Promise<Node> {
  const config = loadConfig({
    overrides: { baseDir, bindAddress: "127.0.0.1", ingress: { port: 0 }, admin: { port: 0 }, partitions: 2, ...overrides },
  });
  return Node.start(config);
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly ingress: string;
  readonly admin: string;
  /** SIGKILL, then wait until the process is gone. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** The real `reprise server` command in its own process, so tests can kill -9 it. */
export async function startServerProcess(baseDir: string, args: string[] = [], ports?: { ingress: number; admin: number }): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      join(REPO, "bin/reprise.js"),
      "server",
      "--base-dir",
      baseDir,
      "--bind-address",
      "127.0.0.1",
      "--ingress-port",
      String(ports?.ingress ?? 0),
      "--admin-port",
      String(ports?.admin ?? 0),
      ...args,
    ],
    { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, REPRISE_LOG_LEVEL: process.env.REPRISE_LOG_LEVEL ?? "warn" } },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const ready = await new Promise<{ ingress: number; admin: number }>((resolveReady, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 30s; stderr: ${stderr}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /REPRISE_READY ingress=(\d+) admin=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady({ ingress: Number(m[1]), admin: Number(m[2]) });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before ready; stderr: ${stderr}`));
    });
  });
  return {
    child,
    ingress: `http://127.0.0.1:${ready.ingress}`,
    admin: `http://127.0.0.1:${ready.admin}`,
    kill9: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function registerDeployment(admin: string, uri: string): Promise<Response> {
  return fetch(`${admin}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri }),
  });
}

export async function callJson(ingress: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ingress}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Polls `check` until it returns true or the deadline passes (bounded; for eventual conditions). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
