import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "../support/temp.ts";

const ROOT = join(import.meta.dirname, "..", "..");
/** Every folder `npm run gen:proto` writes; the generated code in them is committed. */
const GENERATED_DIRS = ["src/protocol/gen", "src/net/gen", "src/net/ctl/gen"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("generated protobuf code", () => {
  const out = tempDir("reprise-gen-proto-");
  after(() => out.remove());

  it("is what `npm run gen:proto` generates from the committed .proto files, byte for byte", async () => {
    // The same script as `npm run gen:proto`, writing below `out` instead of the working tree.
    await promisify(execFile)("sh", [join(ROOT, "scripts", "gen-proto.sh"), "-o", out.path], { cwd: ROOT });
    const regenerated = filesUnder(out.path).map((f) => relative(out.path, f)).sort();
    const committed = GENERATED_DIRS.flatMap((d) => filesUnder(join(ROOT, d))).map((f) => relative(ROOT, f)).sort();
    assert.deepEqual(regenerated, committed, "the generated files are exactly the committed ones (a template writing elsewhere belongs in GENERATED_DIRS)");
    for (const file of regenerated) {
      assert.ok(readFileSync(join(out.path, file)).equals(readFileSync(join(ROOT, file))), `${file} is stale: run npm run gen:proto`);
    }
  });
});
