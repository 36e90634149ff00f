import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { freePort } from "../../src/cluster/net.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { spawnChild, type TrackedChild } from "./process.ts";

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3_000;

/** A real single-member etcd on loopback, owned by the test that started it. */
export interface EtcdServer {
  /** `http://127.0.0.1:<client port>`, for `EtcdMetadataStore`. */
  readonly endpoint: string;
  readonly dataDir: string;
  /** The pid of the running process; changes on restart. */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after a grace period; keeps the data directory. */
  stop(): Promise<void>;
  /** Kills without a grace period (a crash); keeps the data directory. */
  kill(): Promise<void>;
  /** Starts again on the same ports and data directory (stops first if running). */
  restart(): Promise<void>;
  /** Stops and deletes the data directory. */
  remove(): Promise<void>;
}

/** Fails with an actionable message instead of a spawn ENOENT when etcd is missing. */
function requireEtcdBinary(): void {
  const probe = spawnSync("etcd", ["--version"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) {
    throw new Error("etcd is not installed: run `bash scripts/install-etcd.sh` (npm test's pretest does this)");
  }
}

export async function startEtcd(): Promise<EtcdServer> {
  requireEtcdBinary();
  const dataDir = mkdtempSync(join(tmpdir(), "reprise-etcd-"));
  // A port found free can be taken before etcd binds it; pick new ones and try again.
  for (let attempt = 1; ; attempt++) {
    const clientPort = await freePort(HOST);
    const peerPort = await freePort(HOST);
    const server = new RunningEtcd(dataDir, clientPort, peerPort);
    try {
      await server.start();
      return server;
    } catch (e) {
      await server.stop();
      if (attempt >= 3) {
        rmSync(dataDir, { recursive: true, force: true });
        throw e;
      }
    }
  }
}

class RunningEtcd implements EtcdServer {
  readonly endpoint: string;
  private child: TrackedChild | null = null;

  constructor(
    readonly dataDir: string,
    clientPort: number,
    private readonly peerPort: number,
  ) {
    this.endpoint = `http://${HOST}:${clientPort}`;
  }

  get pid(): number {
    if (!this.child?.pid) throw new Error("etcd is not running");
    return this.child.pid;
  }

  async start(): Promise<void> {
    const peer = `http://${HOST}:${this.peerPort}`;
    const child = spawnChild("etcd", [
      "--name=default",
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      "--initial-cluster-state=new",
      "--logger=zap",
      "--log-level=error",
    ]);
    this.child = child;
    await this.waitHealthy(child);
  }

  /** etcd prints no ready line: it is ready once /health says so. */
  private async waitHealthy(child: TrackedChild): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!child.running()) break;
      try {
        const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === "true") return;
      } catch {
        // Not listening yet: poll again.
      }
      await sleep(50);
    }
    throw new Error(`etcd on ${this.endpoint} did not become healthy:\n${child.stderr()}`);
  }

  async stop(): Promise<void> {
    await this.detach()?.stop(STOP_GRACE_MS);
  }

  async kill(): Promise<void> {
    await this.detach()?.kill("SIGKILL");
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private detach(): TrackedChild | null {
    const child = this.child;
    this.child = null;
    return child;
  }
}
