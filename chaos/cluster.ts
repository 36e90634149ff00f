import { chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeDocument, METADATA_KEYS, type PartitionTable } from "../src/metadata/documents.ts";
import { REPRISE, REPRISE_NODE_FLAGS } from "../test/support/reprise-server.ts";
import { ChaosProcess } from "./processes.ts";
import { hasIngress, type NodeSpec } from "./topology.ts";

const CLUSTER_NAME = "chaos";
const ETCD_READY_MS = 20_000;
const REPRISE_READY_MS = 90_000;
const GATEWAY_TIMEOUT_MS = 1_000;

export interface ClusterOptions {
  /** Each node's data and logs go under `<runDir>/<node name>/`. */
  readonly runDir: string;
  readonly nodes: readonly NodeSpec[];
  readonly partitions: number;
  readonly replication: number;
  /** REPRISE_LOG_LEVEL for the nodes (their logs go to files). */
  readonly logLevel: string;
}

/**
 * A 3-member etcd cluster and the Reprise nodes on it, every process running as its node's uid
 * on its node's address. The first node founds the cluster; the others join. Nodes can be killed,
 * restarted (same name, next generation), paused and resumed, each by pid.
 */
export class ChaosCluster {
  private readonly etcd = new Map<string, ChaosProcess>();
  private readonly reprise = new Map<string, ChaosProcess>();
  private readonly paused = new Set<string>();
  /** Plain node id -> node name, from the ready lines. */
  private readonly names = new Map<number, string>();

  private constructor(private readonly o: ClusterOptions) {}

  static async start(o: ClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(o);
    try {
      for (const node of o.nodes) cluster.prepareDirs(node);
      await Promise.all(o.nodes.map((n) => cluster.startEtcd(n)));
      // Started together: the others wait (--join) for the first to found the cluster.
      await Promise.all(o.nodes.map((n, i) => cluster.startReprise(n, i > 0)));
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  get nodes(): readonly NodeSpec[] {
    return this.o.nodes;
  }

  node(name: string): NodeSpec {
    const node = this.o.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /** The node a plain node id (as in the partition table) belongs to. */
  nodeById(id: number): NodeSpec | undefined {
    const name = this.names.get(id);
    return name === undefined ? undefined : this.node(name);
  }

  /** Ingress base URLs of the nodes that have one and whose process runs and is not paused. */
  liveIngresses(): { node: string; url: string }[] {
    return this.o.nodes.filter((n) => hasIngress(n) && this.isLive(n.name)).map((n) => ({ node: n.name, url: ingressUrl(n) }));
  }

  /** Every node that has an ingress, live or not. */
  allIngresses(): { node: string; url: string }[] {
    return this.o.nodes.filter(hasIngress).map((n) => ({ node: n.name, url: ingressUrl(n) }));
  }

  /** Admin base URLs of every node that has one (the worker role). */
  allAdmins(): { node: string; url: string }[] {
    return this.o.nodes.filter(hasIngress).map((n) => ({ node: n.name, url: `http://${n.address}:${n.adminPort}` }));
  }

  adminUrl(): string {
    const worker = this.o.nodes.find(hasIngress);
    if (worker === undefined) throw new Error("no node has the worker role");
    return `http://${worker.address}:${worker.adminPort}`;
  }

  isLive(name: string): boolean {
    return (this.reprise.get(name)?.running() ?? false) && !this.paused.has(name);
  }

  async killReprise(name: string): Promise<void> {
    this.paused.delete(name);
    await this.reprise.get(name)?.kill("SIGKILL");
  }

  /** Starts the node's Reprise process again (it joins as the next generation) and waits until it serves. */
  async restartReprise(name: string): Promise<void> {
    await this.startReprise(this.node(name), true);
  }

  pauseReprise(name: string): void {
    this.reprise.get(name)?.signal("SIGSTOP");
    this.paused.add(name);
  }

  resumeReprise(name: string): void {
    this.reprise.get(name)?.signal("SIGCONT");
    this.paused.delete(name);
  }

  /** The partition table from etcd's JSON gateway, asking each member in turn (an isolated one cannot answer). */
  async partitionTable(): Promise<PartitionTable | null> {
    const key = Buffer.from(METADATA_KEYS.partitionTable).toString("base64");
    for (const node of this.o.nodes) {
      try {
        const res = await fetch(`http://${node.address}:${node.etcdClientPort}/v3/kv/range`, {
          method: "POST",
          body: JSON.stringify({ key }),
          signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS),
        });
        if (res.status !== 200) continue;
        const body = (await res.json()) as { kvs?: { value: string }[] };
        const value = body.kvs?.[0]?.value;
        return value === undefined ? null : decodeDocument<PartitionTable>(Buffer.from(value, "base64"));
      } catch {
        // This member is cut off, paused or slow: ask the next.
      }
    }
    return null;
  }

  /** Stops every process it started, by pid: Reprise nodes first, then etcd. */
  async stop(): Promise<void> {
    for (const name of this.paused) this.reprise.get(name)?.signal("SIGCONT");
    this.paused.clear();
    await Promise.all([...this.reprise.values()].map((p) => p.stop()));
    await Promise.all([...this.etcd.values()].map((p) => p.stop()));
  }

  /** Log lines of a node's process, for failure messages. */
  tail(name: string): string {
    return this.reprise.get(name)?.tail() ?? "";
  }

  private dir(node: NodeSpec, sub?: string): string {
    return sub === undefined ? join(this.o.runDir, node.name) : join(this.o.runDir, node.name, sub);
  }

  /** The node's directories belong to its uid: its processes run as that uid. */
  private prepareDirs(node: NodeSpec): void {
    for (const dir of [this.dir(node), this.dir(node, "etcd"), this.dir(node, "reprise")]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, node.uid, node.gid);
    }
  }

  private async startEtcd(node: NodeSpec): Promise<void> {
    const url = (n: NodeSpec, port: number): string => `http://${n.address}:${port}`;
    const initialCluster = this.o.nodes.map((n) => `e${n.index}=${url(n, n.etcdPeerPort)}`).join(",");
    const proc = ChaosProcess.start({
      label: `${node.name}/etcd`,
      command: "etcd",
      args: [
        `--name=e${node.index}`,
        `--data-dir=${this.dir(node, "etcd")}`,
        `--listen-client-urls=${url(node, node.etcdClientPort)}`,
        `--advertise-client-urls=${url(node, node.etcdClientPort)}`,
        `--listen-peer-urls=${url(node, node.etcdPeerPort)}`,
        `--initial-advertise-peer-urls=${url(node, node.etcdPeerPort)}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        "--initial-cluster-token=reprise-chaos",
        // An isolated member without pre-vote keeps raising its term; back in, that term deposes the
        // majority's leader and every read waits out a new election. Seen after heals: etcd answered
        // nothing for about 4 s ("leader changed"), so a partition placed during the fault could not
        // finish its leadership steps. etcd 3.5 turns it on by default, 3.4 (Debian's) does not.
        "--pre-vote=true",
        "--logger=zap",
        "--log-level=warn",
      ],
      uid: node.uid,
      gid: node.gid,
      env: { HOME: this.dir(node) },
      logFile: join(this.dir(node), "etcd.log"),
    });
    this.etcd.set(node.name, proc);
    const deadline = Date.now() + ETCD_READY_MS;
    while (Date.now() < deadline && proc.running()) {
      try {
        const res = await fetch(`${url(node, node.etcdClientPort)}/health`, { signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS) });
        if (((await res.json()) as { health?: string }).health === "true") return;
      } catch {
        // Not serving yet (a member is healthy once the cluster has a leader).
      }
      await sleep(100);
    }
    throw new Error(`etcd member ${node.name} not healthy within ${ETCD_READY_MS} ms:\n${proc.tail()}`);
  }

  private async startReprise(node: NodeSpec, join_: boolean): Promise<void> {
    const metadata = this.o.nodes.map((n) => `${n.address}:${n.etcdClientPort}`).join(",");
    const proc = ChaosProcess.start({
      label: `${node.name}/reprise`,
      command: process.execPath,
      args: [
        ...REPRISE_NODE_FLAGS,
        REPRISE,
        "server",
        ...["--metadata", `etcd://${metadata}`, "--cluster-name", CLUSTER_NAME, "--node-name", node.name, "--roles", node.roles.join(",")],
        ...["--base-dir", this.dir(node, "reprise"), "--bind-address", node.address, "--advertised-address", `${node.address}:${node.nodePort}`],
        ...["--node-port", String(node.nodePort), "--ingress-port", String(node.ingressPort), "--admin-port", String(node.adminPort)],
        ...["--partitions", String(this.o.partitions), "--replication", String(this.o.replication)],
        ...(join_ ? ["--join"] : []),
      ],
      uid: node.uid,
      gid: node.gid,
      env: { HOME: this.dir(node), REPRISE_LOG_LEVEL: this.o.logLevel },
      logFile: join(this.dir(node), "reprise.log"),
    });
    this.reprise.set(node.name, proc);
    const ready = await proc.waitForReady(REPRISE_READY_MS);
    const id = /^N(\d+):\d+$/.exec(String(ready.node ?? ""));
    if (id === null) throw new Error(`${node.name}: ready line without a node id: ${JSON.stringify(ready)}`);
    this.names.set(Number(id[1]), node.name);
  }
}

function ingressUrl(node: NodeSpec): string {
  return `http://${node.address}:${node.ingressPort}`;
}
