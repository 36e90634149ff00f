import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { exportStore, readExportedState } from "../../src/storage/store-export.ts";
import { PartitionStore } from "../../src/storage/partition-store.ts";
import { CorruptionError } from "../../src/types/errors.ts";
import { LeaderEpoch, Lsn } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { invocation, invocationId } from "./fixtures.ts";

function fill(store: PartitionStore, lsn: number, keys: number): void {
  store.write((tx) => {
    for (let i = 0; i < keys; i++) tx.setStateValue("Counter", `k${i}`, "value", Buffer.from(`${lsn}:${i}`));
    tx.putInvocation(invocation(invocationId(), "completed"));
    tx.setLeaderEpoch(LeaderEpoch(3));
    tx.setAppliedLsn(Lsn(lsn));
  });
}

/** The nice value of every thread of this process (field 19 of /proc/<pid>/task/<tid>/stat), by thread id. */
function threadNiceValues(): Map<string, number> {
  const values = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, nice 19.
    values.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
  }
  return values;
}

const threadsAtNice = (nice: number): string[] => [...threadNiceValues()].filter(([, n]) => n === nice).map(([tid]) => tid);

const everything = (store: PartitionStore) =>
  store.read((tx) => ({ applied: tx.appliedLsn(), epoch: tx.leaderEpoch(), state: tx.listState(), invocations: tx.listInvocations().map((s) => s.id).sort() }));

describe("partition store export (for snapshots), install and persist", () => {
  it("exports a consistent copy while the store keeps committing, and installs it into another store in one transaction", async (t) => {
    const dir = tempDir("reprise-export-");
    t.after(() => dir.remove());
    const source = new PartitionStore(join(dir.path, "source.sqlite"));
    const target = new PartitionStore(join(dir.path, "target.sqlite"));
    t.after(() => {
      source.close();
      target.close();
    });
    fill(source, 10, 2_000);
    const at10 = everything(source);
    const exported = exportStore(source.path, join(dir.path, "export.sqlite"));
    // Commits while the worker copies: the export is one read snapshot, of LSN 10 or a later one.
    for (let lsn = 11; lsn <= 30; lsn++) fill(source, lsn, 5);
    const state = await exported;
    assert.ok(state.appliedLsn >= 10 && state.appliedLsn <= 30);
    assert.equal(state.leaderEpoch, 3);
    const file = join(dir.path, "export.sqlite");
    assert.deepEqual(readExportedState(file), { appliedLsn: state.appliedLsn, leaderEpoch: state.leaderEpoch });
    assert.equal(state.sizeBytes, statSync(file).size);
    assert.equal(state.sha256, createHash("sha256").update(readFileSync(file)).digest("hex"));

    fill(target, 99, 3);
    const snapshot = target.openSnapshot();
    assert.equal(target.install(join(dir.path, "export.sqlite")), state.appliedLsn);
    assert.equal(snapshot.appliedLsn(), 99, "an open read snapshot keeps the content it began with");
    snapshot.release();
    const installed = everything(target);
    assert.equal(installed.applied, state.appliedLsn);
    if (state.appliedLsn === 10) assert.deepEqual(installed, at10);
    assert.equal(installed.state.length, 2_000, "rows only the old target had are gone, every exported row is there");
    assert.equal(installed.state.find((r) => r.key === "k1999")?.value.toString(), "10:1999");
  });

  it("exports at a lowered priority on its own thread and leaves the caller's priority as it was", { skip: process.platform !== "linux" && "nice values are per thread only on Linux" }, async (t) => {
    const dir = tempDir("reprise-export-nice-");
    t.after(() => dir.remove());
    const source = new PartitionStore(join(dir.path, "source.sqlite"));
    t.after(() => source.close());
    fill(source, 5, 20_000);
    const callerPriority = getPriority();
    let done = false;
    const exported = exportStore(source.path, join(dir.path, "export.sqlite")).finally(() => (done = true));
    const seen = new Set<number>();
    while (!done) {
      for (const nice of threadNiceValues().values()) seen.add(nice);
      await tick();
    }
    await exported;
    assert.ok(seen.has(10), `a thread of this process ran at nice 10 during the export (seen: ${[...seen].join(", ")})`);
    assert.equal(getPriority(), callerPriority, "the calling thread's priority is unchanged");
  });

  it("runs every export on one thread that stays, since a thread's start and end stop the caller's thread", { skip: process.platform !== "linux" && "nice values are per thread only on Linux" }, async (t) => {
    const dir = tempDir("reprise-export-thread-");
    t.after(() => dir.remove());
    const source = new PartitionStore(join(dir.path, "source.sqlite"));
    t.after(() => source.close());
    fill(source, 5, 100);
    await exportStore(source.path, join(dir.path, "first.sqlite"));
    await tick();
    const exporter = threadsAtNice(10);
    assert.equal(exporter.length, 1, `one export thread after the first export (threads at nice 10: ${exporter.join(", ")})`);
    fill(source, 6, 100);
    const second = await exportStore(source.path, join(dir.path, "second.sqlite"));
    assert.equal(second.appliedLsn, 6);
    await tick();
    assert.deepEqual(threadsAtNice(10), exporter, "the second export ran on the same thread");
  });

  it("refuses a file whose tables differ, leaving the store as it was", (t) => {
    const dir = tempDir("reprise-install-");
    t.after(() => dir.remove());
    const other = new Database(join(dir.path, "other.sqlite"));
    other.exec("CREATE TABLE fsm (name TEXT PRIMARY KEY, value INTEGER NOT NULL); INSERT INTO fsm VALUES ('applied_lsn', 50)");
    other.close();
    const store = new PartitionStore(join(dir.path, "p.sqlite"));
    t.after(() => store.close());
    fill(store, 7, 1);
    assert.throws(() => store.install(join(dir.path, "other.sqlite")), (e: unknown) => e instanceof CorruptionError && e.code === "store_schema_mismatch");
    assert.equal(store.read((tx) => tx.appliedLsn()), 7);
  });

  it("persist commits a page under a full sync (a rewrite of an unchanged row would write nothing) and changes no row", (t) => {
    const dir = tempDir("reprise-persist-");
    t.after(() => dir.remove());
    const store = new PartitionStore(join(dir.path, "p.sqlite"));
    t.after(() => store.close());
    fill(store, 12, 1);
    const before = everything(store);
    const walBytes = () => statSync(join(dir.path, "p.sqlite-wal")).size;
    const wal = walBytes();
    assert.equal(store.persist(), 12);
    assert.ok(walBytes() > wal, "the persisting commit appended a WAL frame, which the FULL commit syncs");
    assert.deepEqual(everything(store), before);
    const reader = new Database(join(dir.path, "p.sqlite"), { readonly: true });
    assert.deepEqual(reader.prepare("SELECT name FROM fsm ORDER BY name").pluck().all(), ["applied_lsn", "leader_epoch"], "the probe row is gone again");
    reader.close();
  });
});
