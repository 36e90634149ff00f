/** End-to-end benchmark: real server process, real SDK service process, HTTP load from here. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { formatLoad, runLoad, type LoadResult } from "./load.ts";

const REPO = resolve(import.meta.dirname, "..");

function startProcess(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, REPRISE_LOG_LEVEL: "warn" } });
  return new Promise((res, rej) => {
    let out = "";
    const timer = setTimeout(() => rej(new Error(`process ${args.join(" ")} not ready in 30 s`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        res({ child, match: m });
      }
    });
    child.once("exit", (code) => rej(new Error(`process exited early with ${code}`)));
  });
}

const stop = (c: ChildProcess) =>
  new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r();
    c.once("exit", () => r());
    c.kill("SIGTERM");
    setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
  });

export async function runEngineBench(opts: { durationMs?: number; concurrency?: number } = {}): Promise<LoadResult[]> {
  const durationMs = opts.durationMs ?? 10_000;
  const concurrency = opts.concurrency ?? 32;
  const dir = mkdtempSync(join(tmpdir(), "reprise-bench-"));
  const sdk = await startProcess(["--import", "tsx", join(REPO, "bench/sdk-service.ts")], /SDK_READY (\d+)/);
  let server: Awaited<ReturnType<typeof startProcess>> | null = null;
  try {
    server = await startProcess(
      [
        ...(process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
        join(REPO, "bin/reprise.js"),
        "server",
        "--base-dir",
        dir,
        "--bind-address",
        "127.0.0.1",
        "--ingress-port",
        "0",
        "--admin-port",
        "0",
      ],
      /REPRISE_READY ingress=(\d+) admin=(\d+)/,
    );
    const ingress = `http://127.0.0.1:${server.match[1]}`;
    const reg = await fetch(`http://127.0.0.1:${server.match[2]}/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uri: `http://127.0.0.1:${sdk.match[1]}` }),
    });
    if (reg.status !== 201) throw new Error(`registration failed: ${reg.status} ${await reg.text()}`);
    const results: LoadResult[] = [];
    // Warm-up: connections, JIT, SQLite caches.
    await runLoad({ name: "warmup", url: `${ingress}/Greeter/greet`, body: (i) => JSON.stringify(`w${i}`), concurrency, durationMs: 1500, maxRequests: 5000 });
    results.push(
      await runLoad({ name: `greeter ctx.run (c=${concurrency})`, url: `${ingress}/Greeter/greet`, body: (i) => JSON.stringify(`user-${i}`), concurrency, durationMs, maxRequests: 500_000 }),
    );
    results.push(
      await runLoad({
        name: `counter 100 keys (c=${concurrency})`,
        url: ingress,
        pathFor: (i) => `/Counter/key-${i % 100}/add`,
        body: () => "1",
        concurrency,
        durationMs,
        maxRequests: 500_000,
      }),
    );
    return results;
  } finally {
    if (server) await stop(server.child);
    await stop(sdk.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await runEngineBench()) console.log(formatLoad(r));
}
