import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAdvertisedAddress, parseMetadataAddress, parseRoles } from "../../src/cluster/cluster-config.ts";
import { isClusterMode, loadConfig } from "../../src/cluster/config.ts";
import { BadRequestError } from "../../src/types/errors.ts";
import { tempDir } from "../support/temp.ts";
import { REPRISE } from "../support/reprise-server.ts";


describe("cluster configuration", () => {
  it("is a single node unless the metadata store is shared", () => {
    assert.equal(isClusterMode(loadConfig()), false);
    const c = loadConfig({ overrides: { nodeName: "n1", cluster: { metadata: "etcd://127.0.0.1:2379", roles: "worker, log-server", replication: 3 } } });
    assert.equal(isClusterMode(c), true);
    assert.deepEqual(c.cluster.roles, ["worker", "log-server"]);
    assert.equal(c.cluster.replication, 3);
  });

  it("reads the cluster section from TOML and the environment", () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, "reprise.toml");
      writeFileSync(file, 'node_name = "n7"\n[cluster]\nname = "prod"\nmetadata = "etcd://10.0.0.1:2379,10.0.0.2:2379"\nroles = ["log-server"]\njoin = true\n');
      const c = loadConfig({
        file,
        env: { REPRISE_CLUSTER__ADVERTISED_ADDRESS: "10.0.0.7:5122", REPRISE_CLUSTER__REPLICATION: "3", REPRISE_CLUSTER__PARTITION_REPLICATION: "2" },
      });
      assert.equal(c.cluster.name, "prod");
      assert.deepEqual(c.cluster.roles, ["log-server"]);
      assert.equal(c.cluster.join, true);
      assert.equal(c.cluster.advertisedAddress, "10.0.0.7:5122");
      assert.equal(c.cluster.replication, 3);
      assert.equal(c.cluster.partitionReplication, 2);
      assert.deepEqual(parseMetadataAddress(c.cluster.metadata), { kind: "etcd", endpoints: ["http://10.0.0.1:2379", "http://10.0.0.2:2379"] });
    } finally {
      dir.remove();
    }
  });

  it("refuses bad values, naming the setting and its flag", () => {
    const bad = (cluster: Record<string, unknown>, pattern: RegExp) =>
      assert.throws(() => loadConfig({ overrides: { cluster: { metadata: "etcd://127.0.0.1:2379", ...cluster } } }), (e: unknown) => e instanceof BadRequestError && pattern.test(e.message));
    bad({ roles: "worker,bogus" }, /cluster\.roles \(--roles\): unknown role 'bogus'/);
    bad({ roles: "admin" }, /--roles.*runs with the worker role/);
    bad({ metadata: "zk://x:1" }, /cluster\.metadata \(--metadata\): expected 'embedded' or 'etcd:/);
    bad({ metadata: "etcd://127.0.0.1" }, /--metadata.*not a host:port/);
    bad({ advertisedAddress: "host:0" }, /--advertised-address.*port 1\.\.65535/);
    bad({ replication: 0 }, /--replication.*positive integer/);
    bad({ partitionReplication: 1.5 }, /cluster\.partition_replication \(--partition-replication\).*positive integer/);
    assert.throws(() => loadConfig({ env: { REPRISE_CLUSTER__JOIN: "maybe" } }), /cluster\.join.*true or false/);
    assert.throws(() => loadConfig({ overrides: { cluster: { metadata: "etcd://127.0.0.1:2379" } } }), /cluster node needs its own --node-name/);
  });

  it("refuses cluster-only settings on a single node instead of ignoring them", () => {
    assert.throws(() => loadConfig({ overrides: { cluster: { roles: "worker" } } }), /cluster\.roles \(--roles\) applies to cluster nodes only/);
    assert.throws(() => loadConfig({ env: { REPRISE_CLUSTER__REPLICATION: "3" } }), /--replication.*cluster nodes only/);
  });

  it("parses roles and addresses", () => {
    assert.deepEqual(parseRoles(["log-server", "worker", "worker"]), ["log-server", "worker"]);
    assert.deepEqual(parseAdvertisedAddress("[::1]:5122"), { host: "[::1]", port: 5122 });
    assert.throws(() => parseAdvertisedAddress("http://a:1"), /not a host:port/);
  });

  it("the CLI names the flag of a bad value", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [REPRISE, "server", ...args], { encoding: "utf8", timeout: 20_000 });
    const roles = run("--metadata", "etcd://127.0.0.1:1", "--roles", "worker,nope");
    assert.equal(roles.status, 1);
    assert.match(roles.stderr, /option '--roles <list>' argument 'worker,nope' is invalid\. unknown role 'nope'/);
    const address = run("--metadata", "etcd://127.0.0.1:1", "--advertised-address", "nohost");
    assert.match(address.stderr, /option '--advertised-address <host:port>' argument 'nohost' is invalid/);
    const single = run("--roles", "worker");
    assert.equal(single.status, 1);
    assert.match(single.stderr, /--roles\) applies to cluster nodes only/);
  });
});
