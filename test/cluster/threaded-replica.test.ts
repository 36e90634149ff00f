import assert from "node:assert/strict";
import { it } from "node:test";
import { ThreadedReplica } from "../../src/cluster/partition-thread/threaded-replica.ts";
import { openStoreReader, type StoreReader } from "../../src/storage/partition-store.ts";
import { LeaderEpoch, Lsn, PartitionId } from "../../src/types/ids.ts";
import { fileStore } from "../storage/fixtures.ts";

it("a threaded replica's progress pairs the applied LSN with the epoch of the same commit, though the writer commits between reads", (t) => {
  const store = fileStore(t);
  const commit = (lsn: number, epoch: number) =>
    store.write((tx) => {
      tx.setAppliedLsn(Lsn(lsn));
      tx.setLeaderEpoch(LeaderEpoch(epoch));
    });
  commit(5, 1);
  const reader = openStoreReader(store.path);
  t.after(() => reader.close());
  // The writer (a partition thread, here this thread) commits right after every read transaction
  // of the main thread's connection ends, as it can at any moment.
  let next = 6;
  const racing: StoreReader = {
    ...reader,
    read: (fn) => {
      const value = reader.read(fn);
      commit(next, next - 4);
      next++;
      return value;
    },
  };
  const replica = new ThreadedReplica(PartitionId(0), racing, { partitionId: PartitionId(0), isLeader: false, announcedLeader: null }, () => Promise.reject(new Error("no appends here")));
  for (let i = 0; i < 3; i++) {
    const { appliedLsn, leaderEpoch } = replica.progress();
    // Every commit wrote epoch = LSN - 4.
    assert.equal(leaderEpoch, appliedLsn - 4, `LSN ${appliedLsn} read with epoch ${leaderEpoch}`);
  }
  // A single-value read sees the newest commit.
  const newest = next - 1;
  assert.equal(replica.appliedLsn, newest);
});
