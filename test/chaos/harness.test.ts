import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { checkPrerequisites, processRunning, runInPrivateNetwork } from "../../chaos/namespace.ts";
import { tempDir } from "../support/temp.ts";

const PROBE = resolve(import.meta.dirname, "namespace-probe.ts");

/** Why the mechanics cannot run here (not root, a tool missing), or null. */
async function missingPrerequisite(): Promise<string | null> {
  try {
    await checkPrerequisites(["unshare", "ip", "ss", "nft"]);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

describe("chaos harness mechanics, in a real private network namespace", { timeout: 60_000 }, async () => {
  const skip = await missingPrerequisite();

  it("cuts traffic between two nodes' loopback addresses both ways, heals it, and its socket check refuses unattributable connections", { skip: skip ?? false }, async () => {
    const dir = tempDir("reprise-chaos-test-");
    try {
      const resultFile = join(dir.path, "result.json");
      const code = await runInPrivateNetwork(PROBE, [resultFile], join(dir.path, "pids"));
      assert.equal(code, 0, "the probe inside the namespace succeeded");
      const r = JSON.parse(readFileSync(resultFile, "utf8"));

      assert.deepEqual(r.before, { aToB: true, bToA: true });
      // New connections fail both ways; each side still reaches itself; the observer is never cut.
      assert.equal(r.cut.aToB, false);
      assert.equal(r.cut.bToA, false);
      assert.equal(r.cut.aToItself, true);
      assert.equal(r.cut.observerToB, true);
      // On a connection a opened before the cut, b's data (the reply direction) no longer arrives.
      assert.ok(r.cut.ticksAtCut > 0, "ticks flowed before the cut");
      assert.equal(r.cut.ticksAfterCut, r.cut.ticksAtCut, "no tick got through the cut");
      assert.ok(r.cut.droppedPackets > 0, "the cut rule counted its drops");

      assert.equal(r.healed.aToB, true);
      assert.equal(r.healed.bToA, true);
      assert.ok(r.healed.ticksAfterHeal > r.healed.ticksAtHeal, `the established connection resumed (after ${r.healed.resumedMs} ms)`);

      assert.deepEqual(r.verification.clean, [], "node-owned connections and the observer's pass the check");
      assert.equal(r.verification.withStray.length, 1, JSON.stringify(r.verification.withStray));
      assert.match(r.verification.withStray[0], new RegExp(`^127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.12:7000 .*pid ${r.verification.strayPid}\\).* uid 0: opened by no node's uid`));
      assert.equal(r.verification.withWildcard.length, 1, JSON.stringify(r.verification.withWildcard));
      assert.match(r.verification.withWildcard[0], /of node a listens on 0\.0\.0\.0:7002, not on its address 127\.0\.0\.11/);

      // The runner killed, by pid, the process the probe left behind.
      assert.equal(processRunning(r.leftoverPid), false, `leftover pid ${r.leftoverPid} is gone`);
    } finally {
      dir.remove();
    }
  });
});
