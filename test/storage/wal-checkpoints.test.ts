import assert from "node:assert/strict";
import { copyFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setImmediate, setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { PartitionStore } from "../../src/storage/partition-store.ts";
import { WalCheckpointer } from "../../src/storage/wal-checkpointer.ts";
import { Lsn } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";

const WAL_LIMIT = 4 * 1024 * 1024;
const VALUE = Buffer.alloc(2_000, 7);

/** A store whose checkpoint thread looks only when told (`runNow`): whatever else copies the WAL is the writer. */
function storeWithIdleCheckpointer(t: TestContext): { store: PartitionStore; checkpointer: WalCheckpointer } {
  const dir = tempDir("reprise-wal-");
  const checkpointer = new WalCheckpointer({ intervalMs: 3_600_000, walSizeLimitBytes: WAL_LIMIT, walRestartBytes: WAL_LIMIT });
  const store = new PartitionStore(join(dir.path, "p0.sqlite"), { checkpointer });
  t.after(() => {
    store.close();
    dir.remove();
  });
  return { store, checkpointer };
}

const fileBytes = (path: string): number => statSync(path).size;

/** Writes about 2,500 pages in 50 commits: SQLite's automatic checkpoint would have run at 1,000. */
function writeMuch(store: PartitionStore, from: number): void {
  for (let c = 0; c < 50; c++) {
    store.write((tx) => {
      for (let k = 0; k < 100; k++) tx.setStateValue("S", `k${from + c * 100 + k}`, "v", VALUE);
      tx.setAppliedLsn(Lsn(from + c + 1));
    });
  }
}

/** Frames in the WAL and how many are copied, asked by a PASSIVE checkpoint of an outside connection. */
function walFrames(path: string): { log: number; checkpointed: number } {
  const db = new Database(path);
  try {
    return (db.pragma("wal_checkpoint(PASSIVE)") as { log: number; checkpointed: number }[])[0]!;
  } finally {
    db.close();
  }
}

describe("partition store WAL checkpoints", () => {
  it("commits never checkpoint: the database file only grows when the checkpoint thread copies the WAL", async (t) => {
    const { store, checkpointer } = storeWithIdleCheckpointer(t);
    const emptyBytes = fileBytes(store.path);
    writeMuch(store, 0);
    // WAL mode writes the database file only in a checkpoint: had a commit checkpointed, it would have grown.
    assert.equal(fileBytes(store.path), emptyBytes);
    assert.ok(fileBytes(`${store.path}-wal`) > 1_000 * 4_096, `WAL of ${fileBytes(`${store.path}-wal`)} bytes`);

    await checkpointer.runNow();
    assert.ok(fileBytes(store.path) > 2_000 * 4_096, `database file of ${fileBytes(store.path)} bytes after the checkpoint`);
    const frames = walFrames(store.path);
    assert.equal(frames.checkpointed, frames.log, "the checkpoint thread copied every frame");
  });

  it("the WAL is reused after a checkpoint and truncated once the store is idle, also after a reader held it", async (t) => {
    const { store, checkpointer } = storeWithIdleCheckpointer(t);
    writeMuch(store, 0);
    const oneLoad = fileBytes(`${store.path}-wal`);
    await checkpointer.runNow();
    const snapshot = store.openSnapshot();
    writeMuch(store, 10_000);
    await checkpointer.runNow();
    // The open read keeps the frames written after it in the WAL.
    const held = walFrames(store.path);
    assert.ok(held.checkpointed < held.log, `${held.checkpointed} of ${held.log} frames copied while the reader held them`);
    const grown = fileBytes(`${store.path}-wal`);
    snapshot.release();
    assert.ok(grown > WAL_LIMIT, `WAL of ${grown} bytes`);

    await checkpointer.runNow(); // copies the rest
    await checkpointer.runNow(); // idle and copied: truncates
    assert.ok(fileBytes(`${store.path}-wal`) <= WAL_LIMIT, `WAL of ${fileBytes(`${store.path}-wal`)} bytes, ${grown} before`);

    // Written again after a complete checkpoint, the WAL starts over instead of growing.
    writeMuch(store, 20_000);
    await checkpointer.runNow();
    writeMuch(store, 30_000);
    assert.ok(fileBytes(`${store.path}-wal`) < oneLoad * 1.5, `WAL of ${fileBytes(`${store.path}-wal`)} bytes after two loads, ${oneLoad} after one`);
    assert.equal(store.read((tx) => tx.appliedLsn()), Lsn(30_050));
  });

  it("an idle store's WAL is cut back in steps that each free at most 1 MiB, and stays recoverable", async (t) => {
    const { store, checkpointer } = storeWithIdleCheckpointer(t);
    writeMuch(store, 0);
    await checkpointer.runNow();
    const snapshot = store.openSnapshot();
    writeMuch(store, 10_000);
    writeMuch(store, 20_000);
    await checkpointer.runNow();
    snapshot.release();
    const grown = fileBytes(`${store.path}-wal`);
    assert.ok(grown > 4 * WAL_LIMIT, `WAL of ${grown} bytes`);

    const run = await checkpointer.runNow(); // idle: copies the rest, then cuts
    const wal = fileBytes(`${store.path}-wal`);
    assert.ok(wal <= WAL_LIMIT, `WAL of ${wal} bytes, ${grown} before`);
    // A writer that resumes waits for one cut at most: a cut's time grows with the bytes it frees.
    assert.ok(run.walCuts.length > 1, `${run.walCuts.length} cuts`);
    for (const cut of run.walCuts) assert.ok(cut <= 1024 * 1024, `one cut freed ${cut} bytes: ${run.walCuts.join(", ")}`);
    assert.equal(
      run.walCuts.reduce((a, b) => a + b, 0),
      grown - wal,
    );

    // The files as a crash would leave them (no wal-index): recovery replays the WAL left after the cuts.
    const crashed = tempDir("reprise-wal-crash-");
    t.after(() => crashed.remove());
    const copy = join(crashed.path, "p0.sqlite");
    copyFileSync(store.path, copy);
    copyFileSync(`${store.path}-wal`, `${copy}-wal`);
    const recovered = new PartitionStore(copy, { checkpointer });
    try {
      assert.equal(recovered.read((tx) => tx.appliedLsn()), Lsn(20_050));
      assert.deepEqual(recovered.read((tx) => tx.getStateValue("S", "k24999", "v")), VALUE);
    } finally {
      recovered.close();
    }
    const check = new Database(copy, { readonly: true });
    try {
      assert.equal(check.pragma("integrity_check", { simple: true }), "ok");
    } finally {
      check.close();
    }

    // The writer resumes on the shortened WAL.
    writeMuch(store, 30_000);
    assert.equal(store.read((tx) => tx.appliedLsn()), Lsn(30_050));
  });

  it("a cut that finds the writer's lock taken gives up until the next look, and the store stays checkpointed", async (t) => {
    const { store, checkpointer } = storeWithIdleCheckpointer(t);
    writeMuch(store, 0);
    await checkpointer.runNow();
    const snapshot = store.openSnapshot();
    writeMuch(store, 10_000);
    await checkpointer.runNow();
    snapshot.release();

    const writer = new Database(store.path);
    t.after(() => writer.close());
    writer.prepare("BEGIN IMMEDIATE").run();
    const held = await checkpointer.runNow();
    writer.prepare("ROLLBACK").run();
    assert.deepEqual(held.walCuts, [], "no cut while another connection holds the writer's lock");

    // Had the busy lock failed the store, the thread would have dropped it: nothing would be cut now.
    const run = await checkpointer.runNow();
    assert.ok(run.walCuts.length > 0, "cut once the lock is free");
    assert.ok(fileBytes(`${store.path}-wal`) <= WAL_LIMIT, `WAL of ${fileBytes(`${store.path}-wal`)} bytes`);
  });

  it("under commits that never pause, the WAL starts over once it holds more than the restart threshold", async (t) => {
    const { store, checkpointer } = storeWithIdleCheckpointer(t);
    const COMMITS = 2_500;
    let committed = 0;
    // A commit about every millisecond, each of two or three pages: about 25 MiB of WAL in all, at
    // a pace the checkpoint thread keeps up with, but with no pause long enough for a PASSIVE
    // checkpoint to find the WAL all copied when it ends.
    const load = (async () => {
      for (; committed < COMMITS; committed++) {
        store.write((tx) => {
          tx.setStateValue("S", `k${committed}`, "v", VALUE);
          tx.setAppliedLsn(Lsn(committed + 1));
        });
        await sleep(1);
      }
    })();
    while (committed < COMMITS) await checkpointer.runNow();
    await load;
    // The file keeps the largest size the WAL reached: the threshold plus what one look lets through.
    const walFile = fileBytes(`${store.path}-wal`);
    assert.ok(walFile < 2 * WAL_LIMIT, `WAL file of ${walFile} bytes after about 25 MiB of commits, restart threshold ${WAL_LIMIT}`);
    assert.equal(store.read((tx) => tx.appliedLsn()), COMMITS);
  });

  it("a RESTART under commits that never pause copies only the last few pages with the writer's lock held", async (t) => {
    const { store, checkpointer } = storeWithIdleCheckpointer(t);
    let stop = false;
    let committed = 0;
    // Several commits per millisecond, each of two or three pages, resting a millisecond every
    // five: between two looks far more WAL than one PASSIVE copies before the next commits land.
    const load = (async () => {
      while (!stop) {
        store.write((tx) => {
          tx.setStateValue("S", `k${committed % 5_000}`, "v", VALUE);
          tx.setAppliedLsn(Lsn(++committed));
        });
        await (committed % 5 === 0 ? sleep(1) : setImmediate());
      }
    })();
    const restarts: number[] = [];
    const deadline = Date.now() + 20_000;
    try {
      while (restarts.length < 3 && Date.now() < deadline) {
        // Looks as far apart as the checkpoint thread's interval makes them: a backlog to copy.
        await sleep(400);
        restarts.push(...(await checkpointer.runNow()).restartFrames);
      }
    } finally {
      stop = true;
      await load;
    }
    assert.ok(restarts.length >= 3, `${restarts.length} RESTARTs in 20 s of commits (${committed})`);
    // What committed during the last round, one that copied at most 256 frames; a single round
    // before the RESTART left 1,400-1,700 frames here.
    assert.ok(Math.max(...restarts) <= 256 + 128, `frames copied under the writer's lock per RESTART: ${restarts.join(", ")}`);
  });

  it("the default checkpoint thread copies the WAL without being told", async (t) => {
    const dir = tempDir("reprise-wal-");
    const store = new PartitionStore(join(dir.path, "p0.sqlite"));
    t.after(() => {
      store.close();
      dir.remove();
    });
    writeMuch(store, 0);
    const deadline = Date.now() + 10_000;
    while (fileBytes(store.path) <= 2_000 * 4_096 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(fileBytes(store.path) > 2_000 * 4_096, `database file of ${fileBytes(store.path)} bytes`);
  });
});
