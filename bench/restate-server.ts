/**
 * restate-server (the npm package `@restatedev/restate-server`, pinned in devDependencies) as a
 * benchmark target: one node on loopback with its data in a temporary directory. It looks up its
 * latest release online when it starts, telemetry off or not, so run it only inside a private
 * network namespace (bench/compare.ts does).
 */
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnChild } from "../test/support/process.ts";
import type { BenchTarget } from "./engine.ts";

const INGRESS_PORT = 8080;
const ADMIN_PORT = 9070;
const READY_TIMEOUT_MS = 60_000;

/** The platform binary the package's `restate-server` wrapper would start: its pid is the server's own, not a node shim's. */
function binaryPath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`);
}

/** Starts restate-server in `dir` and waits (bounded) until its admin API answers. */
export async function startRestateServer(dir: string): Promise<BenchTarget> {
  const child = spawnChild(binaryPath(), ["--no-logo", "--base-dir", dir, "--node-name", "bench", "--bind-ip", "127.0.0.1"], {
    env: {
      // TCP only: no Unix sockets under the data directory.
      RESTATE_LISTEN_MODE: "tcp",
      RESTATE_DISABLE_TELEMETRY: "true",
      RESTATE_LOG_FILTER: process.env.RESTATE_LOG_FILTER ?? "warn",
      RESTATE_LOG_DISABLE_ANSI_CODES: "true",
    },
  });
  const admin = `http://127.0.0.1:${ADMIN_PORT}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!child.running()) throw new Error(`restate-server exited with ${await child.exited} before it served; stderr: ${child.stderr()}`);
    const res = await fetch(`${admin}/health`).catch(() => null);
    if (res?.status === 200) break;
    if (Date.now() > deadline) {
      await child.kill();
      throw new Error(`restate-server did not answer ${admin}/health within ${READY_TIMEOUT_MS} ms; stderr: ${child.stderr()}`);
    }
    await sleep(100);
  }
  return { ingresses: [`http://127.0.0.1:${INGRESS_PORT}`], admin, serverPids: [child.pid], stop: () => child.stop() };
}
