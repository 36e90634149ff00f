import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { LogletOffset } from "../../src/bifrost/loglet.ts";
import { tempDir } from "../support/temp.ts";
import { dec, openLoglet, readAll, records } from "./helpers.ts";

const dataFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith(".log")).sort();
const record = (i: number) => Buffer.from(`${String(i).padStart(6, "0")}${"x".repeat(4_090)}`);

describe("LocalLoglet: a trimmed log gives its space back without waiting for the file size limit", () => {
  const tmp = tempDir("reprise-loglet-trim-");
  after(() => tmp.remove());

  it("a trim that leaves a megabyte of trimmed records in the active file moves appends to a new file, which the next trim lets it delete", async () => {
    const dir = join(tmp.path, "a");
    const loglet = await openLoglet(dir);
    for (let i = 1; i <= 400; i++) await loglet.append([record(i)]);
    assert.equal(dataFiles(dir).length, 1);
    await loglet.trim(LogletOffset(100)); // about 400 KiB: not worth a new file
    assert.equal(await loglet.append([record(401)]), 401);
    assert.equal(dataFiles(dir).length, 1);
    await loglet.trim(LogletOffset(390)); // about 1.6 MiB trimmed
    assert.equal(await loglet.append([record(402)]), 402);
    const files = dataFiles(dir);
    assert.equal(files.length, 2, "the append after the trim started a new file");
    assert.equal(files[1], `${String(402).padStart(20, "0")}.log`);
    for (let i = 403; i <= 410; i++) await loglet.append([record(i)]);
    await loglet.trim(LogletOffset(401));
    assert.deepEqual(dataFiles(dir), [files[1]], "everything in the old file was trimmed, so it is gone");
    const left = records(await readAll(loglet, 402)).map((r) => [r.offset, dec(r.payload).slice(0, 6)]);
    assert.deepEqual(left, Array.from({ length: 9 }, (_, k) => [402 + k, String(402 + k).padStart(6, "0")]));
    await loglet.close();

    const reopened = await openLoglet(dir);
    assert.equal(await reopened.getTrimPoint(), 401);
    assert.equal(await reopened.append([record(411)]), 411);
    await reopened.close();
  });
});
