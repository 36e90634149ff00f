import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { counter, greeter } from "../support/example-services.ts";
import { objectKeyIn } from "../support/object-keys.ts";
import { PartitionRouter } from "../../src/partition/routing.ts";
import { REPRISE } from "../support/reprise-server.ts";

interface VerifyAnswer {
  partition_id: number;
  applied_lsn: number;
  from_snapshot_lsn: number;
  replayed: number;
  identical: boolean;
  summary: string;
  difference?: { table: string; key: Record<string, string>; columns: string[]; live: Record<string, string> | null; rebuilt: Record<string, string> | null };
}


/** `reprise partitions verify <id>` against the fixture's admin API. */
function cliVerify(admin: string, partition: number): Promise<{ stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [REPRISE, "partitions", "verify", String(partition), "--admin-url", admin], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      if (code !== 0 && code !== 2) reject(new Error(`reprise partitions verify failed (${code}): ${stderr}`));
      else resolve({ stdout, code });
    });
  });
}

describe("reprise partitions verify: the partition rebuilt from its log against the live store", () => {
  let fixture: Fixture;
  // alice..dave all hash to partition 1 of 2; one key per partition makes every round of load
  // reach both logs (the Greeter calls land on random partitions).
  const router = new PartitionRouter(2);
  const everyPartition = [0, 1].map((partition) => objectKeyIn(router, "Counter", partition, "spread"));
  const load = async (round: string) => {
    for (const key of ["alice", "bob", "carol", "dave", ...everyPartition]) {
      for (let n = 1; n <= 3; n++) assert.equal((await callJson(fixture.ingress, `/Counter/${key}/add`, n)).status, 200);
    }
    for (const name of ["x", "y", "z"]) assert.equal((await callJson(fixture.ingress, `/Greeter/greet`, `${round}-${name}`)).status, 200);
  };
  const verify = async (partition: number): Promise<VerifyAnswer> => {
    const res = await fetch(`${fixture.admin}/partitions/${partition}/verify`, { method: "POST" });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as VerifyAnswer;
  };

  before(async () => {
    // Snapshots only on demand; the log is trimmed to the archived LSN soon after one is taken.
    fixture = await startFixture({ services: [counter, greeter], config: { snapshots: { intervalNumRecords: 0, intervalMs: 0 }, log: { trimIntervalMs: 200 } } });
    await load("a");
  });
  after(() => fixture?.stop());

  it("reports identical for every partition of a healthy node, over the admin API and the CLI", async () => {
    for (const partition of [0, 1]) {
      const answer = await verify(partition);
      assert.equal(answer.identical, true, answer.summary);
      assert.equal(answer.summary, "identical");
      assert.ok(answer.applied_lsn > 0 && answer.replayed === answer.applied_lsn, `partition ${partition} replayed its whole log`);
      assert.equal(answer.from_snapshot_lsn, 0);
    }
    const { stdout, code } = await cliVerify(fixture.admin, 0);
    assert.equal(code, 0);
    assert.match(stdout, /^identical \(partition 0 at LSN \d+, rebuilt from the log from LSN 1\)$/m);
  });

  it("starts from the newest snapshot once the log is trimmed to it, and replays the tail", async () => {
    const created = await fetch(`${fixture.admin}/snapshots`, { method: "POST", body: "{}" });
    assert.equal(created.status, 200, await created.clone().text());
    const archived = ((await created.json()) as { snapshots: { partition_id: number; applied_lsn: number }[] }).snapshots;
    assert.equal(archived.length, 2);
    const trimPoints = async () => ((await (await fetch(`${fixture.admin}/snapshots`)).json()) as { partitions: { partition_id: number; trim_point: number }[] }).partitions;
    await eventually(
      async () => (await trimPoints()).every((p) => p.trim_point === archived.find((a) => a.partition_id === p.partition_id)!.applied_lsn),
      10_000,
      "the logs to be trimmed to the snapshots",
    );
    await load("b");
    for (const { partition_id: partition, applied_lsn: snapshotLsn } of archived) {
      const answer = await verify(partition);
      assert.equal(answer.identical, true, answer.summary);
      assert.equal(answer.from_snapshot_lsn, snapshotLsn);
      assert.equal(answer.replayed, answer.applied_lsn - snapshotLsn);
      assert.ok(answer.replayed > 0, "the load after the snapshot was replayed");
    }
    const { stdout } = await cliVerify(fixture.admin, 1);
    assert.match(stdout, /^identical \(partition 1 at LSN \d+, rebuilt from the snapshot at LSN \d+ and the log after it\)$/m);
  });

  it("names the row when a store file is altered behind the server's back", async () => {
    // Find the partition holding alice's counter and change its value with a connection of our own.
    let altered = -1;
    for (const partition of [0, 1]) {
      const db = new Database(join(fixture.dir, "partitions", `p${partition}.sqlite`));
      try {
        const changed = db.prepare("UPDATE state SET value = ? WHERE service = 'Counter' AND obj_key = 'alice' AND state_key = 'value'").run(Buffer.from("999"));
        if (changed.changes === 1) altered = partition;
      } finally {
        db.close();
      }
    }
    assert.notEqual(altered, -1, "alice's counter is in one of the stores");

    const answer = await verify(altered);
    assert.equal(answer.identical, false);
    assert.equal(answer.difference?.table, "state");
    assert.deepEqual(answer.difference?.key, { service: "'Counter'", obj_key: "'alice'", state_key: "'value'" });
    assert.deepEqual(answer.difference?.columns, ["value"]);
    assert.equal(answer.difference?.live?.value, `x'${Buffer.from("999").toString("hex")}'`);
    assert.equal(answer.difference?.rebuilt?.value, `x'${Buffer.from("12").toString("hex")}'`);
    assert.match(answer.summary, /table state, row \(service='Counter', obj_key='alice', state_key='value'\): value: live x'393939', rebuilt x'3132'/);

    const { stdout, code } = await cliVerify(fixture.admin, altered);
    assert.equal(code, 2);
    assert.match(stdout, new RegExp(`partition ${altered} differs at LSN \\d+ \\(rebuilt from the snapshot at LSN \\d+ and the log after it\\): table state, row \\(service='Counter', obj_key='alice'`));

    // The other partition is untouched.
    assert.equal((await verify(1 - altered)).identical, true);
  });

  it("answers 404 for a partition the node has no replica of", async () => {
    const res = await fetch(`${fixture.admin}/partitions/7/verify`, { method: "POST" });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error_code: string }).error_code, "partition_not_found");
  });
});
