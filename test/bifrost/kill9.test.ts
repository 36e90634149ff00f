import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { tempDir } from "../support/temp.ts";
import { openLoglet, payloadFor, readAll, records } from "./helpers.ts";

const CHILD = join(import.meta.dirname, "append-child.ts");

/** Runs the appending child until it has acknowledged `acks` records, then SIGKILLs it; returns offset → seq of every ack. */
function appendUntilKilled(dir: string, firstSeq: number, acks: number): Promise<Map<number, number>> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(firstSeq)], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, REPRISE_LOG_LEVEL: "warn" },
  });
  const acked = new Map<number, number>();
  let partial = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.stdout.on("data", (d: Buffer) => {
      const lines = (partial + d.toString()).split("\n");
      partial = lines.pop()!; // a line cut by the kill is not an ack we saw
      for (const line of lines) {
        // The child's log lines share stdout: the second child, reopening after a kill mid-write,
        // logs the torn tail it cut. Only `<offset> <seq>` is an ack.
        const ack = /^(\d+) (\d+)$/.exec(line);
        if (ack !== null) acked.set(Number(ack[1]), Number(ack[2]));
      }
      if (acked.size >= acks && child.signalCode === null) child.kill("SIGKILL");
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`child exited with ${code ?? signal} before it was killed`));
      else if (acked.size < acks) reject(new Error(`child was killed after only ${acked.size} acks`));
      else resolve(acked);
    });
  });
}

describe("LocalLoglet under kill -9", () => {
  const tmp = tempDir("reprise-kill9-");
  after(() => tmp.remove());

  it("keeps every acknowledged record intact across two SIGKILLs mid-stream", async () => {
    const dir = join(tmp.path, "loglet");
    const acked = new Map<number, number>();
    for (const [round, firstSeq] of [0, 1_000_000].entries()) {
      for (const [offset, seq] of await appendUntilKilled(dir, firstSeq, 3000)) {
        assert.equal(acked.has(offset), false, `offset ${offset} acknowledged twice (round ${round})`);
        acked.set(offset, seq);
      }
    }
    const loglet = await openLoglet(dir);
    const all = records(await readAll(loglet));
    // Dense from 1; unacknowledged records written before the kill may be there too.
    assert.deepEqual(all.map((r) => r.offset), Array.from({ length: all.length }, (_, i) => i + 1));
    const byOffset = new Map(all.map((r) => [r.offset as number, r.payload]));
    for (const [offset, seq] of acked) assert.deepEqual(byOffset.get(offset), payloadFor(seq), `record ${offset}`);
    assert.ok(acked.size >= 6000);
    await loglet.close();
  });
});
