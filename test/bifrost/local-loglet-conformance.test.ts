import assert, { AssertionError } from "node:assert/strict";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { LocalLoglet, writeDurably } from "../../src/bifrost/local/local-loglet.ts";
import { tempDir } from "../support/temp.ts";
import { checkDurability, logletConformance, type LogletUnderTest } from "./loglet-conformance.ts";

const tmp = tempDir("reprise-loglet-conformance-");
after(() => tmp.remove());
let dirs = 0;

/** A fresh local loglet whose durable data writes go through `write`, which reports each finished one through `count`. */
async function localLoglet(
  opened: LocalLoglet[],
  write: (file: FileHandle, bytes: Uint8Array, position: number, count: () => void) => Promise<void> = async (file, bytes, position, count) => {
    await writeDurably(file, bytes, position);
    count();
  },
): Promise<LogletUnderTest> {
  let syncs = 0;
  const loglet = await LocalLoglet.open(`conformance-${dirs}`, join(tmp.path, `l${dirs++}`), {
    writeDataFile: (file, bytes, position) => write(file, bytes, position, () => syncs++),
  });
  opened.push(loglet);
  return { writer: loglet, peer: loglet, syncs: () => [syncs], syncQuorum: 1 };
}

logletConformance("local", async () => {
  const opened: LocalLoglet[] = [];
  return {
    create: () => localLoglet(opened),
    close: async () => {
      for (const l of opened) await l.close();
    },
  };
});

describe("the durability check fails a local loglet that does not sync before acknowledging", () => {
  const opened: LocalLoglet[] = [];
  after(async () => {
    for (const l of opened) await l.close();
  });
  const reportsViolation = (e: unknown): boolean => e instanceof AssertionError && /was acknowledged after a sync on 0 storage nodes/.test(e.message);

  it("with the durable write left out", async () => {
    const subject = await localLoglet(opened, async () => undefined);
    await assert.rejects(checkDurability(subject), reportsViolation);
  });

  it("with the durable write started but not awaited", async () => {
    const subject = await localLoglet(opened, async (file, bytes, position, count) => {
      void writeDurably(file, bytes, position).then(count);
    });
    await assert.rejects(checkDurability(subject), reportsViolation);
  });
});
