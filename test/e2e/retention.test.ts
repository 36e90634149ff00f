import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";

/** Invocations per round; `REPRISE_RETENTION_INVOCATIONS=20000` for the disk measurement. */
const PER_ROUND = Number(process.env.REPRISE_RETENTION_INVOCATIONS ?? 600);
const JOURNAL_RETENTION_MS = 1_000;
const CONCURRENCY = 32;

const echo = restate.service({
  name: "Echo",
  handlers: {
    echo: async (ctx: restate.Context, s: string) => ctx.run("step", () => s),
  },
});

const MiB = 1024 * 1024;

/** Bytes of every file under `dir`. */
function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

/** Bytes of the partition stores' database files; their WALs are bounded on their own (see `largestWal`). */
const storeBytes = (baseDir: string): number =>
  readdirSync(join(baseDir, "partitions"))
    .filter((name) => name.endsWith(".sqlite"))
    .reduce((sum, name) => sum + statSync(join(baseDir, "partitions", name)).size, 0);

/** The largest WAL file of the partition stores. */
const largestWal = (baseDir: string): number =>
  Math.max(0, ...readdirSync(join(baseDir, "partitions")).filter((name) => name.endsWith("-wal")).map((name) => statSync(join(baseDir, "partitions", name)).size));

/** What an idle store's WAL is cut back to (partition-store.ts): it keeps its size below that for reuse. */
const WAL_LIMIT_BYTES = 4 * MiB;

describe("retention: completed invocations leave the partition stores through the log", () => {
  let fixture: Fixture;

  before(async () => {
    fixture = await startFixture({ services: [echo], config: { retention: { journalMs: JOURNAL_RETENTION_MS } } });
  });
  after(() => fixture?.stop());

  /** Statuses and journal entries left in every store. */
  const rows = () => [...fixture.node.processors.values()].reduce((sum, p) => sum + p.store.read((tx) => tx.listInvocations().length + [...tx.tableRows("journal")].length), 0);

  async function round(tag: string): Promise<{ loaded: number; retained: number }> {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < PER_ROUND) {
          const i = next++;
          const res = await callJson(fixture.ingress, "/Echo/echo", `${tag}-${i}`);
          assert.equal(res.status, 200);
          await res.arrayBuffer();
        }
      }),
    );
    const loaded = storeBytes(fixture.dir);
    await eventually(() => rows() === 0, 60_000 + PER_ROUND * 10, "every status and journal to be removed");
    // The writes of the removals hand freed pages back; one more round of applied records finishes it.
    await (await callJson(fixture.ingress, "/Echo/echo", `${tag}-flush`)).arrayBuffer();
    await eventually(() => rows() === 0, 30_000, "the flush invocation to be removed too");
    return { loaded, retained: storeBytes(fixture.dir) };
  }

  it("removes every status and journal after the journal retention, and the stores stop growing", async () => {
    const first = await round("a");
    const second = await round("b");
    const perTenThousand = (bytes: number) => ((bytes / MiB) * 10_000) / PER_ROUND;
    console.log(
      `retention ${JOURNAL_RETENTION_MS} ms, ${PER_ROUND} invocations a round: stores ${(first.loaded / MiB).toFixed(2)} MiB after the load, ` +
        `${(first.retained / MiB).toFixed(2)} MiB after retention, ${(second.retained / MiB).toFixed(2)} MiB after a second round ` +
        `(${perTenThousand(second.retained - first.retained).toFixed(2)} MiB per 10,000 invocations of growth); the base dir holds ${(dirBytes(fixture.dir) / MiB).toFixed(2)} MiB`,
    );
    // Freed pages are reused: the database files end where the first round left them, give or take a few pages of bookkeeping.
    assert.ok(second.retained <= first.retained + 256 * 1024, `the second round grew the stores from ${first.retained} to ${second.retained} bytes`);
    // And the WALs, checkpointed off the apply path, are cut back once the stores are idle.
    await eventually(() => largestWal(fixture.dir) <= WAL_LIMIT_BYTES, 10_000, "every WAL to be cut back to its limit");
  });

  it("the removals came from the log: every partition rebuilt from its log is identical", async () => {
    for (const partition of fixture.node.processors.keys()) {
      const res = await fetch(`${fixture.admin}/partitions/${partition}/verify`, { method: "POST" });
      const answer = (await res.json()) as { identical: boolean; summary: string };
      assert.equal(answer.identical, true, answer.summary);
    }
  });
});
