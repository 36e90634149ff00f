import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mustReplaceTail } from "../../src/cluster/partition-replicas.ts";
import type { SegmentConfig } from "../../src/metadata/documents.ts";
import type { ReplicatedLogletParams } from "../../src/net/loglet-params.ts";
import { Lsn, PlainNodeId } from "../../src/types/ids.ts";

const me = { id: PlainNodeId(2), generation: 1 };
const desired: ReplicatedLogletParams = { sequencer: me, nodeset: [PlainNodeId(1), PlainNodeId(2), PlainNodeId(3)], replication: 2 };
const segment = (params: Readonly<Record<string, unknown>>, provider: "replicated" | "local" = "replicated"): SegmentConfig => ({ index: 11, baseLsn: Lsn(7922), provider, params });
const open = async () => false;
const sealed = async () => true;

describe("a leader replaces its log's tail segment unless it is its own, as wanted, and open", () => {
  it("keeps an open tail it sequences over the wanted nodeset (in any order) and replication", async () => {
    assert.equal(await mustReplaceTail(segment({ ...desired, nodeset: [3, 1, 2] }), desired, me, open), false);
  });

  it("replaces that same tail once it is sealed: a seal whose chain compare-and-swap failed left it so", async () => {
    assert.equal(await mustReplaceTail(segment({ ...desired }), desired, me, sealed), true);
  });

  it("replaces a tail sequenced elsewhere, by an earlier generation, over other servers or with another replication, without asking whether it is sealed", async () => {
    const unasked = async () => assert.fail("the seal need not be looked up");
    for (const params of [
      { ...desired, sequencer: { id: 3, generation: 1 } },
      { ...desired, sequencer: { id: 2, generation: 0 } },
      { ...desired, nodeset: [2, 3] },
      { ...desired, replication: 3 },
    ]) {
      assert.equal(await mustReplaceTail(segment(params), desired, me, unasked), true, JSON.stringify(params));
    }
    assert.equal(await mustReplaceTail(segment({}, "local"), desired, me, unasked), true, "a local segment");
    assert.equal(await mustReplaceTail(undefined, desired, me, unasked), true, "no segment yet");
  });
});
