import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { LogletOffset } from "../../src/bifrost/loglet.ts";
import { tempDir } from "../support/temp.ts";
import { dec, enc, openLoglet, readAll, records } from "./helpers.ts";

describe("LocalLoglet basics", () => {
  const tmp = tempDir("reprise-loglet-");
  after(() => tmp.remove());

  it("appends, reads back and survives a restart", async () => {
    const dir = `${tmp.path}/basic`;
    let loglet = await openLoglet(dir);
    assert.equal(await loglet.append([enc("a")]), 1);
    assert.equal(await loglet.append([enc("b"), enc("c")]), 3);
    assert.deepEqual((await loglet.findTail()).nextOffset, 4);
    assert.deepEqual(records(await loglet.read(LogletOffset(2), 10)).map((r) => dec(r.payload)), ["b", "c"]);
    await loglet.close();

    loglet = await openLoglet(dir);
    assert.deepEqual(await loglet.findTail(), { nextOffset: 4, sealed: false });
    assert.deepEqual(records(await readAll(loglet)).map((r) => [r.offset, dec(r.payload)]), [[1, "a"], [2, "b"], [3, "c"]]);
    assert.equal(await loglet.append([enc("d")]), 4);
    await loglet.close();
  });
});
