import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { loadConfig, snapshotDestination } from "../../src/cluster/config.ts";
import { BadRequestError } from "../../src/types/errors.ts";
import { tempDir } from "../support/temp.ts";

const CLUSTER = { metadata: "etcd://127.0.0.1:2379" };

describe("snapshot and trim configuration", () => {
  it("defaults: a file:// repository under the base dir on a single node, none in a cluster", () => {
    assert.deepEqual(snapshotDestination(loadConfig({ overrides: { baseDir: "/data/r" } })), { kind: "file", dir: "/data/r/snapshots" });
    assert.deepEqual(snapshotDestination(loadConfig({ overrides: { baseDir: "rel" } })), { kind: "file", dir: join(resolve("rel"), "snapshots") });
    assert.deepEqual(snapshotDestination(loadConfig({ overrides: { nodeName: "n1", cluster: CLUSTER } })), { kind: "none" });
  });

  it("reads destinations, intervals and S3 settings from the file, the environment and flags", () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, "reprise.toml");
      writeFileSync(file, '[snapshots]\ndestination = "s3://bucket/some/prefix"\nnum_retained = 4\naws_force_path_style = true\n[log]\ntrim_interval_ms = 5000\n');
      const c = loadConfig({ file, env: { REPRISE_SNAPSHOTS__AWS_ENDPOINT_URL: "http://127.0.0.1:9000" }, overrides: { snapshots: { intervalNumRecords: 50 } } });
      assert.deepEqual(snapshotDestination(c), { kind: "s3", bucket: "bucket", prefix: "some/prefix" });
      assert.equal(c.snapshots.numRetained, 4);
      assert.equal(c.snapshots.awsForcePathStyle, true);
      assert.equal(c.snapshots.awsEndpointUrl, "http://127.0.0.1:9000");
      assert.equal(c.snapshots.intervalNumRecords, 50);
      assert.equal(c.log.trimIntervalMs, 5000);
      assert.deepEqual(snapshotDestination(loadConfig({ overrides: { snapshots: { destination: "file:///srv/snaps" } } })), { kind: "file", dir: "/srv/snaps" });
      assert.deepEqual(snapshotDestination(loadConfig({ overrides: { snapshots: { destination: "none" } } })), { kind: "none" });
    } finally {
      dir.remove();
    }
  });

  it("refuses bad values, naming the setting and its flag", () => {
    const refused = (overrides: Record<string, unknown>, message: RegExp) =>
      assert.throws(() => loadConfig({ overrides }), (e: unknown) => e instanceof BadRequestError && message.test(e.message));
    refused({ snapshots: { destination: "ftp://host/x" } }, /^snapshots\.destination \(--snapshot-destination\): 'ftp:\/\/host\/x': unsupported scheme/);
    refused({ snapshots: { destination: "s3:///prefix-only" } }, /^snapshots\.destination \(--snapshot-destination\): .*names no bucket/);
    refused({ snapshots: { destination: "somewhere" } }, /^snapshots\.destination \(--snapshot-destination\): 'somewhere' is not a URL/);
    refused({ snapshots: { intervalNumRecords: -1 } }, /^snapshots\.interval_num_records \(--snapshot-interval-records\): must be a non-negative integer/);
    refused({ snapshots: { numRetained: 0 } }, /^snapshots\.num_retained: must be a positive integer/);
    refused({ snapshots: { awsAccessKeyId: "key" } }, /^snapshots\.aws_secret_access_key: give snapshots\.aws_access_key_id and the secret together/);
    refused({ log: { trimIntervalMs: 1.5 } }, /^log\.trim_interval_ms \(--log-trim-interval-ms\): must be a non-negative integer/);
  });
});
